"""Which commitments a document belongs to, at which stage, and why.

Identifiers first, exact: the document's dossier number, each `behandeldDossier` of a Staatsblad law, the dossier
of its `kst-` id, its rijkswet number and its TK zaak number, looked up in the catalog's own dossiers and in the
links the pipeline knows (learned, or set by maintainers). A document found by identifier belongs to that
commitment whatever its title says.

Text second, for what no identifier ties: the evidence of `matchers.evidence`, weighed against everything the
catalog knows of each commitment (title, aliases, the record's wording, the promises' own words), on what the
document is about (`matchers.classify.view`: the bill its dossier, vote, Staatsblad law or RvS advice names, or a
government letter's own subject; written questions, motions and agendas are no evidence). Kinds must agree: a
Grondwet change matches only a Grondwet commitment and an ordinary bill never one, a Rijkswet only a Rijkswet, a
member's initiative bill no cabinet bill (unless the commitment is that initiative), an AMvB only what a decree can
deliver. Every `require` entry must be present. An `exclude` entry weighs, it does not veto: the look-alike's words
are taken out of the document and what remains must still be evidence, so a letter about the commitment that also
mentions the look-alike stays in and a document about the look-alike stays out. At `CONFIDENT` or above a match is
confident, between `DOUBTFUL` and `CONFIDENT` it goes to a maintainer, below it there is none; both thresholds are
set once, on the tuning part of the evaluation set (`bench/evaluate.py`).

A confident text match on a document that opens a bill (`matchers.events.is_opening_document`) teaches the
pipeline the bill's dossier (`Match.learn_dossier`), so everything later in that dossier is found by number.

Speed: profiles and weights are compiled once per catalog object; a document's terms are looked up in an index
from term to commitments, and only commitments whose summed term weight can reach `DOUBTFUL` are scored.
"""

from __future__ import annotations

import dataclasses
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from matchers.catalog import Catalog, Commitment, Kind
from matchers.classify import View, classify, is_ek_arrival, is_noise, specific_text, view
from matchers.events import is_opening_document
from matchers.evidence import (
    FACET_SHARE,
    Evidence,
    Owners,
    Profile,
    Subject,
    Weights,
    build_owners,
    compile_profiles,
    explained_all,
    explained_minimum,
    score,
    text_terms,
)
from matchers.stages import Stage
from matchers.text import Haystack, Phrase, normalize
from sources.base import Document, parse_kst

Via = Literal["dossier", "zaak", "kst", "title"]

CONFIDENT = 62.0
"""A text match scoring at least this is confident: it makes a published event and may teach a dossier."""
DOUBTFUL = 48.0
"""A text match scoring at least this (and below `CONFIDENT`) is doubtful: a maintainer confirms or rejects it."""
EXCLUDED_FACTOR = 0.5
"""A bill whose own title holds an `exclude` entry keeps this share of its score: it is the look-alike."""
DOMINATED_FACTOR = 0.8
"""A commitment whose evidence in a document is all evidence for another, better covered commitment keeps this
share of its score, and is at most doubtful: "Beleidskader decentraal bestuur" delivers the beleidskader, not its
evaluation."""
FULLY_NAMED = 0.95
"""A commitment whose best description a document covers this far is named by it, and never dominated."""
NO_CUE_FACTOR = 0.85
"""A government letter whose subject names no bill, law or legislation keeps this share of its score for a bill
commitment: "Aanbieding jaarverslag AIVD" shares the services' name with a new Wiv but is not about it."""
_NOTHING_EXPLAINED: tuple[float, frozenset[str]] = (0.0, frozenset())
_VIEW_CACHE = 4096  # views whose scoring is kept per compiled catalog

# Kinds of commitment whose promise is a letter: a government letter that names them delivers them.
LETTER_KINDS = frozenset({Kind.KAMERBRIEF, Kind.VISIE, Kind.EVALUATIE, Kind.MONITOR})
BRIEF_KINDS = LETTER_KINDS | {Kind.OTHER}

# Words of a letter that says the promised letter is *not* coming yet.
_DELAY_WORDS = ("uitstel", "uitgesteld", "vertraging", "vertraagd", "planning", "aankondiging")
_CLAUSES = re.compile(r" en (?=[a-z]+ (?:van|over|naar|voor|op) )|;|,")

_KAMER_STAGES = frozenset({Stage.INGEDIEND, Stage.AANGENOMEN_TK, Stage.VERWORPEN_TK, Stage.AANGENOMEN_EK,
                           Stage.VERWORPEN_EK, Stage.INGETROKKEN})
_DECREE_KINDS = frozenset({"amvb", "rijksamvb", "klein koninklijk besluit"})
_RIJKSWET_IN_DOSSIER = re.compile(r"[\s-]*\(\s*(R\d{3,5})\s*\)")


@dataclass(frozen=True, slots=True)
class Match:
    """One commitment a document belongs to."""

    slug: str
    stage: Stage | None  # the stage the document shows for this commitment (before `effective_stage`)
    via: Via
    confident: bool
    score: float  # 0-100
    reason: str  # a sentence a journalist can read
    learn_dossier: str | None = None  # a dossier the pipeline should link to `slug` from now on


# --------------------------------------------------------------------------------------------- compiling


@dataclass(frozen=True, slots=True)
class _Condition:
    """A `require` or `exclude` entry: one word matches a word or a compound starting with it ("Grondwet" in
    "Grondwetsvoorstel", "experiment" in "experimentenwet"); several words match as a phrase."""

    raw: str
    phrase: Phrase

    def holds(self, hay: Haystack) -> bool:
        if len(self.phrase.tokens) == 1 and len(self.phrase.squashed) >= 4:
            return hay.has_word_prefix(self.phrase.squashed)
        return hay.contains(self.phrase)

    def remove_from(self, text: str) -> str:
        """`text` (normalized) without the words of this entry (and compounds starting with a one-word entry)."""
        if len(self.phrase.tokens) == 1 and len(self.phrase.squashed) >= 4:
            head = self.phrase.squashed
            return " ".join(w for w in text.split() if not w.startswith(head))
        padded = f" {text} "
        return " ".join(padded.replace(self.phrase.padded, " | ").split())


@dataclass(frozen=True, slots=True)
class _Entry:
    commitment: Commitment
    profile: Profile
    require: tuple[_Condition, ...]
    exclude: tuple[_Condition, ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    entries: Mapping[str, _Entry]
    weights: Weights
    owners: Owners  # term -> slugs whose descriptions hold it
    dossiers: Mapping[str, frozenset[str]]  # canonical dossier -> slugs
    rijkswet: Mapping[str, frozenset[str]]  # R2187 -> slugs
    # The scoring of the views seen lately (documents of one dossier share one), newest last.
    scored: OrderedDict[View, dict[str, Evidence]] = dataclasses.field(default_factory=OrderedDict, compare=False)


@lru_cache(maxsize=8192)
def canonical_dossier(value: str) -> str:
    """A dossier number as the catalog writes it: ``36374`` for ``36374 (R2187)`` or ``36374-(R2187)``,
    ``36600-VII`` for ``36600 VII``."""
    value = _RIJKSWET_IN_DOSSIER.sub("", value.strip())
    return "-".join(value.split()).upper()


def _compile(catalog: Catalog) -> _Compiled:
    profiles, weights = compile_profiles(catalog)
    entries: dict[str, _Entry] = {}
    dossiers: dict[str, set[str]] = {}
    rijkswet: dict[str, set[str]] = {}
    for c in catalog:
        entries[c.slug] = _Entry(
            commitment=c, profile=profiles[c.slug],
            require=tuple(_Condition(r, Phrase.of(r)) for r in c.require if normalize(r)),
            exclude=tuple(_Condition(x, Phrase.of(x)) for x in c.exclude if normalize(x)),
        )
        for d in c.dossiers:
            dossiers.setdefault(canonical_dossier(d), set()).add(c.slug)
        for r in c.rijkswet_numbers:
            rijkswet.setdefault(r.upper(), set()).add(c.slug)
    return _Compiled(
        entries=entries, weights=weights, owners=build_owners(profiles),
        dossiers={d: frozenset(s) for d, s in dossiers.items()},
        rijkswet={r: frozenset(s) for r, s in rijkswet.items()},
    )


_BY_ID: dict[int, tuple[weakref.ref[Catalog], _Compiled]] = {}
_BY_FINGERPRINT: OrderedDict[int, _Compiled] = OrderedDict()
_FINGERPRINT_SLOTS = 8


def _fingerprint(catalog: Catalog) -> int:
    return hash(tuple(
        (c.slug, c.kind.value, c.title, c.aliases, c.require, c.exclude, c.dossiers, c.rijkswet_numbers, c.record,
         tuple(p.quote for p in c.promises), c.notes, c.initiative)
        for c in catalog
    ))


def _compiled(catalog: Catalog) -> _Compiled:
    """The compiled form of `catalog`, made once per catalog object; an equal catalog built anew (the pipeline
    builds one per page) reuses the compilation of the last equal one."""
    key = id(catalog)
    hit = _BY_ID.get(key)
    if hit is not None and hit[0]() is catalog:
        return hit[1]
    fingerprint = _fingerprint(catalog)
    compiled = _BY_FINGERPRINT.get(fingerprint)
    if compiled is None:
        compiled = _compile(catalog)
        _BY_FINGERPRINT[fingerprint] = compiled
        while len(_BY_FINGERPRINT) > _FINGERPRINT_SLOTS:
            _BY_FINGERPRINT.popitem(last=False)
    else:
        _BY_FINGERPRINT.move_to_end(fingerprint)
    _BY_ID[key] = (weakref.ref(catalog, _forget(key)), compiled)
    return compiled


def clear_cache() -> None:
    """Forget every compiled catalog (benchmarks measure the compilation itself)."""
    _BY_ID.clear()
    _BY_FINGERPRINT.clear()


def _forget(key: int) -> Callable[[weakref.ref[Catalog]], None]:
    """A weakref callback that drops the cache entry of a catalog that no longer exists (its id may be reused)."""

    def callback(_ref: weakref.ref[Catalog]) -> None:
        _BY_ID.pop(key, None)

    return callback


# --------------------------------------------------------------------------------------------- text evidence


def kind_agrees(v: View, c: Commitment) -> bool:
    """Whether a document of this view can be about a commitment of this kind by its words."""
    if v.letter:
        return True
    if v.decree:
        # An AMvB delivers an AMvB commitment; for a law, only the decree that puts it into force is news.
        # An AMvB "ter uitvoering van" a law is about that law (a document event, never its publication).
        return c.kind is Kind.AMVB or ((v.in_force or v.implements) and c.kind in (Kind.WETSVOORSTEL, Kind.RIJKSWET))
    if v.initiative and not c.initiative:
        return False
    if v.grondwet:
        return c.kind is Kind.GRONDWETSVOORSTEL
    if c.kind is Kind.GRONDWETSVOORSTEL:
        return False
    if v.rijkswet:
        return c.kind is Kind.RIJKSWET
    return c.kind in (Kind.WETSVOORSTEL, Kind.RIJKSWET)


def _subject(v: View) -> Subject:
    return Subject.of(text_terms(v.subject), text_terms(v.context))


def _share(v: View) -> float:
    return FACET_SHARE


def _weighed(entry: _Entry, v: View, subject: Subject, weights: Weights, hay: Haystack,
             explained: tuple[float, frozenset[str]] | None = None) -> Evidence | None:
    """The evidence for one commitment, with its require and exclude entries applied (`hay`: the view's words
    for phrase lookups; `explained`: the commitment's explained share of the subject, when known)."""
    if entry.require and not all(r.holds(hay) for r in entry.require):
        return None
    floor = DOUBTFUL * DOMINATED_FACTOR
    present = [x for x in entry.exclude if x.holds(hay)] if entry.exclude else []
    if not present:
        return score(subject, entry.profile, weights, floor, explained, _share(v))
    if not v.letter:
        # The look-alike's word in a bill's own title: the bill is (part of) the look-alike.
        evidence = score(subject, entry.profile, weights, floor, explained, _share(v))
        return dataclasses.replace(evidence, score=round(evidence.score * EXCLUDED_FACTOR, 1))
    # A letter may be about the commitment and mention the look-alike too: its words are no evidence for the
    # commitment, so take them out and weigh what remains.
    subject_text, context_text = v.subject, v.context
    for x in present:
        subject_text, context_text = x.remove_from(subject_text), x.remove_from(context_text)
    return score(Subject.of(text_terms(subject_text), text_terms(context_text)), entry.profile, weights, floor,
                 facet_share=_share(v))


def _hay(v: View) -> Haystack:
    return Haystack(f"{v.subject} | {v.context}" if v.context else v.subject)


def text_evidence(doc: Document, catalog: Catalog) -> list[Evidence]:
    """Every commitment whose evidence on `doc` reaches `DOUBTFUL`, best first (for inspection and tests)."""
    compiled = _compiled(catalog)
    v = view(doc)
    if v is None:
        return []
    out = [e for e in _text_hits(compiled, v, None).values()]
    return sorted(out, key=lambda e: -e.score)


def _text_hits(compiled: _Compiled, v: View, only: Mapping[str, object] | None) -> dict[str, Evidence]:
    """The commitments whose text evidence on the view reaches `DOUBTFUL` (restricted to `only` when given)."""
    scored = compiled.scored.get(v)
    if scored is None:
        scored = _score_view(compiled, v)
        compiled.scored[v] = scored
        if len(compiled.scored) > _VIEW_CACHE:
            compiled.scored.popitem(last=False)
    else:
        compiled.scored.move_to_end(v)
    if only is not None:
        scored = {slug: e for slug, e in scored.items() if slug in only}
    return {slug: e for slug, e in _undominated(scored).items() if e.score >= DOUBTFUL}


def _score_view(compiled: _Compiled, v: View) -> dict[str, Evidence]:
    """Every commitment whose evidence on the view could still reach `DOUBTFUL` after domination. Documents of
    one dossier (its Kamerstukken, its KOOP twins, its votes) share a view, so this is cached per view."""
    subject = _subject(v)
    if not subject.terms:
        return {}
    scored: dict[str, Evidence] = {}
    hay = _hay(v)
    named_view: View | None = None
    named_subject: Subject | None = None
    named_hay: Haystack | None = None
    explained = explained_all(subject.weighed(compiled.weights), compiled.owners)
    named_explained: dict[str, tuple[float, frozenset[str]]] = {}
    if v.citeertitel:
        named_subject = Subject.of(text_terms(v.citeertitel), text_terms(""))
        named_explained = explained_all(named_subject.weighed(compiled.weights), compiled.owners)
    minimum = explained_minimum(DOUBTFUL * DOMINATED_FACTOR, _share(v))
    for slug in explained.keys() | named_explained.keys():
        mine = explained.get(slug, _NOTHING_EXPLAINED)
        if mine[0] < minimum and named_explained.get(slug, _NOTHING_EXPLAINED)[0] < minimum:
            continue  # even a fully covered description cannot reach a doubtful score with so little explained
        entry = compiled.entries.get(slug)
        if entry is None or not kind_agrees(v, entry.commitment):
            continue
        evidence = _weighed(entry, v, subject, compiled.weights, hay, mine)
        if v.citeertitel and evidence is not None:
            # The name a bill gives itself ("... (Wet lobbyregister)") is evidence on its own, whatever else its
            # title says: weigh it as if it were the whole subject, and keep the better of the two.
            if named_view is None:
                named_view = dataclasses.replace(v, subject=v.citeertitel, context="")
                named_hay = _hay(named_view)
            assert named_subject is not None and named_hay is not None
            named = _weighed(entry, named_view, named_subject, compiled.weights, named_hay,
                             named_explained.get(slug, _NOTHING_EXPLAINED))
            if named is not None and named.score > evidence.score:
                evidence = named
        if evidence is not None and v.letter and not v.bill_cue and entry.commitment.is_bill:
            # A letter that names no bill, law or legislation is about a bill only if its words leave no doubt.
            evidence = dataclasses.replace(evidence, score=round(evidence.score * NO_CUE_FACTOR, 1))
        if evidence is not None and evidence.score >= DOUBTFUL * DOMINATED_FACTOR:
            scored[slug] = evidence
    return scored


def _undominated(scored: Mapping[str, Evidence]) -> dict[str, Evidence]:
    """Each evidence, scaled down when its words are not its own: another commitment accounts for every word of
    the document it accounts for and for more, or for the same words with a better covered facet; two that
    account for the same words equally well (a letter naming only the law three commitments share) are both
    scaled down, for the document tells neither apart."""
    out: dict[str, Evidence] = {}
    for slug, e in scored.items():
        dominated = False
        for other in scored.values():
            if other is e or not e.explains or e.coverage >= FULLY_NAMED:
                continue  # a commitment whose own description the document holds whole is named, whatever else
            if (e.explains < other.explains and other.coverage >= e.coverage
                    and other.score >= max(DOUBTFUL, 0.75 * e.score)):
                dominated = True  # the other is about this document more, and named as well
            elif e.explains == other.explains and ((other.coverage > e.coverage and other.score > e.score)
                                                   or abs(other.coverage - e.coverage) < 1e-9):
                dominated = True
            if dominated:
                break
        # Its words are another's: at most doubtful, so a maintainer decides.
        capped = min(round(e.score * DOMINATED_FACTOR, 1), CONFIDENT - 0.1)
        out[slug] = dataclasses.replace(e, score=capped) if dominated else e
    return out


# --------------------------------------------------------------------------------------------- identifiers


_NONE: frozenset[str] = frozenset()


def _dossier_slugs(value: str, compiled: _Compiled, links: Mapping[str, frozenset[str]]) -> frozenset[str]:
    canon = canonical_dossier(value)
    found = compiled.dossiers.get(canon, _NONE)
    if links:
        for key in (canon, value) if value != canon else (canon,):
            linked = links.get(key)
            if linked:
                found = found | linked
    return found


def _identifier_hits(doc: Document, compiled: _Compiled, links: Mapping[str, frozenset[str]],
                     zaken: Mapping[str, frozenset[str]]) -> dict[str, tuple[Via, str]]:
    """slug -> (via, what tied it), for every identifier of `doc` that is linked."""
    hits: dict[str, tuple[Via, str]] = {}
    dossier = doc.dossier
    if dossier:
        for slug in _dossier_slugs(dossier, compiled, links):
            hits.setdefault(slug, ("dossier", f"dossier {canonical_dossier(dossier)} is linked to {slug}"))
        if "(" in dossier:
            m = _RIJKSWET_IN_DOSSIER.search(dossier)
            if m:
                for slug in compiled.rijkswet.get(m.group(1).upper(), _NONE):
                    hits.setdefault(slug, ("dossier", f"rijkswet number {m.group(1)} is linked to {slug}"))
    elif doc.kst:
        # Without a dossier of its own (a numeric KOOP id has none), the kst- id may still name one.
        parsed = parse_kst(doc.kst)
        if parsed is not None:
            for slug in _dossier_slugs(parsed[0], compiled, links):
                hits.setdefault(slug, ("kst", f"{doc.kst} is in dossier {canonical_dossier(parsed[0])}, "
                                              f"which is linked to {slug}"))
    extra = doc.extra
    if extra:
        treated = extra.get("behandeldDossier")
        if treated:
            for value in re.split(r"[,;]", treated):
                if value.strip():
                    for slug in _dossier_slugs(value.strip(), compiled, links):
                        hits.setdefault(slug, (
                            "dossier",
                            f"the Staatsblad publication treats dossier {canonical_dossier(value)} "
                            f"(behandeldDossier), which is linked to {slug}",
                        ))
        rijkswet = extra.get("rijkswetnummer")
        if rijkswet:
            for slug in compiled.rijkswet.get(rijkswet.strip().upper(), _NONE):
                hits.setdefault(slug, ("dossier", f"rijkswet number {rijkswet.strip()} is linked to {slug}"))
    if doc.zaak and zaken:
        for slug in zaken.get(doc.zaak, _NONE):
            hits.setdefault(slug, ("zaak", f"zaak {doc.zaak} is linked to {slug}"))
    return hits


_STAGE_REASONS: dict[Stage, str] = {
    Stage.CONSULTATIE: "{kind} means the internetconsultatie opened",
    Stage.ADVIES_RVS: "{kind} means the Raad van State's advice was published",
    Stage.INGEDIEND: "{kind} means the bill was sent to the Kamer",
    Stage.AANGENOMEN_TK: "the vote '{kind}' means the Tweede Kamer adopted the bill",
    Stage.VERWORPEN_TK: "the vote '{kind}' means the Tweede Kamer rejected the bill",
    Stage.AANGENOMEN_EK: "the vote '{kind}' means the Eerste Kamer adopted the bill",
    Stage.VERWORPEN_EK: "the vote '{kind}' means the Eerste Kamer rejected the bill",
    Stage.GEPUBLICEERD: "{kind} in the Staatsblad means the law was published",
    Stage.IN_WERKING: "the decree ({kind}) sets the date the law enters into force",
    Stage.INGETROKKEN: "{kind} announces that the bill is withdrawn",
    Stage.BRIEF: "{kind} delivers the promised {commitment_kind}",
}


def _stage_reason(stage: Stage | None, doc: Document, commitment: Commitment) -> str:
    own = _own_stage_reason(stage, doc)
    if own is not None:
        return own
    kind = doc.kind or doc.entity
    if stage is None:
        return f"{kind} is a document about it, no new stage"
    return _STAGE_REASONS[stage].format(kind=kind, commitment_kind=commitment.kind.value)


def _own_stage_reason(stage: Stage | None, doc: Document) -> str | None:
    """The reason for what the Eerste Kamer's votes, internetconsultaties and the Eerste Kamer's receipt of a bill
    show, in their own words (their kinds say less than a TK soort)."""
    day = doc.date.isoformat() if doc.date else "a date not given"
    if stage in (Stage.AANGENOMEN_EK, Stage.VERWORPEN_EK) and doc.source == "ek":
        verb = "adopted" if stage is Stage.AANGENOMEN_EK else "rejected"
        method = f" ({doc.extra['methode']})" if doc.extra.get("methode") else ""
        checked = ", confirmed on its bill page" if doc.extra.get("bevestigd") else ""
        return f"the Eerste Kamer {verb} the bill on {day}{method}{checked}"
    if stage is Stage.CONSULTATIE and doc.source == "ic":
        kind = doc.extra.get("type") or "Wet"
        return f"the internetconsultatie of the draft bill (type {kind}) opened on {day}"
    if stage is Stage.AANGENOMEN_TK and is_ek_arrival(doc):
        return (f"Eerste Kamer stuk {doc.ondernummer} ('Gewijzigd voorstel van wet', {day}) is the bill as the "
                "Tweede Kamer adopted it, received by the Eerste Kamer: the Tweede Kamer adopted the bill")
    return None


def _delayed(doc: Document, evidence: Evidence | None) -> bool:
    """Whether the letter says the commitment is not coming yet: a delay word ("uitstel", "planning") in every
    part of its subject that is about the commitment ("Resultaten van de taskforce en planning van de
    actieagenda" delivers the taskforce letter and postpones the actieagenda)."""
    own = specific_text(doc)
    if not any(w in own for w in _DELAY_WORDS):
        return False
    if evidence is None or not evidence.explains:
        return True
    clauses = [c for c in _CLAUSES.split(own) if c.strip()]
    relevant = [c for c in clauses if text_terms(c).terms & evidence.explains]
    return not relevant or all(any(w in c for w in _DELAY_WORDS) for c in relevant)


def _stage_for(stage: Stage | None, commitment: Commitment, doc: Document, names_it: bool,
               evidence: Evidence | None = None) -> Stage | None:
    """The document's stage as far as this commitment goes: a letter delivers only a promised letter, visie,
    evaluatie, monitor or other deliverable, and only when the letter itself names it and is not about a
    delay; a bill's stages mean nothing to a promised letter, the Kamer's stages nothing to an AMvB, and an
    implementing AMvB in the Staatsblad does not publish the law it names."""
    if stage is Stage.BRIEF:
        if commitment.kind not in BRIEF_KINDS or not names_it:
            return None
        if _delayed(doc, evidence):
            return None
        return stage
    if commitment.kind in LETTER_KINDS and stage is not None:
        return None
    if commitment.kind is Kind.AMVB and stage in _KAMER_STAGES:
        return None  # an AMvB is not sent to or voted by the Kamer: a bill that names it is not its stage
    if stage is Stage.GEPUBLICEERD and commitment.is_bill and normalize(doc.kind) in _DECREE_KINDS:
        return None  # an implementing AMvB names the law but is not the law's publication
    return stage


Twins = Mapping[str, Mapping[str, Stage | None]]
"""kst id -> {slug: the stage its event shows} of a Kamerstuk already matched from its other source."""


def match_document(
    doc: Document,
    catalog: Catalog,
    links: Mapping[str, frozenset[str]],
    zaken: Mapping[str, frozenset[str]],
    rejected: frozenset[tuple[str, str]],
    twins: Twins | None = None,
) -> list[Match]:
    """Every commitment `doc` belongs to, best first. `links` maps dossier numbers and `zaken` zaak numbers to
    slugs (the catalog's own dossiers count as linked); `twins` what the other record of the same Kamerstuk
    (same kst id) was matched to: the TK document and the KOOP record of one Kamerstuk are one thing, whatever
    words each carries (KOOP often titles a letter only "Brief van de minister van ..."), and show one stage.
    A (slug, document key) pair in `rejected` never comes back. Deleted and noise documents match nothing."""
    if doc.deleted or is_noise(doc):
        return []
    compiled = _compiled(catalog)
    ids = _identifier_hits(doc, compiled, links, zaken)
    twin = twins.get(doc.kst, {}) if twins and doc.kst else {}
    for slug in twin:
        ids.setdefault(slug, ("kst", f"{doc.kst} is the same Kamerstuk as a document already matched to {slug}"))
    v = view(doc)
    # A document tied to a commitment by number is that commitment's, whatever its words say; its words are
    # still weighed for that commitment (a letter in the dossier names a promised letter, or not).
    hits = _text_hits(compiled, v, ids or None) if v is not None else {}
    if not ids and not hits:
        return []
    raw_stage = classify(doc)
    matches: list[Match] = []
    for slug, (via, why) in ids.items():
        entry = compiled.entries.get(slug)
        if entry is None or (slug, doc.key) in rejected:
            continue  # a link to a slug the catalog does not hold (removed since) ties nothing
        hit = hits.get(slug)
        if slug in twin:
            stage = twin[slug]  # one Kamerstuk, one stage, from whichever source came first
        else:
            stage = _stage_for(raw_stage, entry.commitment, doc, hit is not None and hit.score >= CONFIDENT, hit)
        reason = f"{why}; {_stage_reason(stage, doc, entry.commitment)}"
        matches.append(Match(slug=slug, stage=stage, via=via, confident=True, score=100.0, reason=reason))

    for slug, hit in hits.items():
        if slug in ids or (slug, doc.key) in rejected:
            continue
        commitment = compiled.entries[slug].commitment
        if commitment.kind in LETTER_KINDS and raw_stage not in (None, Stage.BRIEF):
            continue  # a bill's own documents (its MvT, its vote, its Staatsblad law) are not a promised letter
        confident = hit.score >= CONFIDENT
        stage = _stage_for(raw_stage, commitment, doc, confident, hit)
        reason = f"{hit.why()} (score {hit.score:.0f}); {_stage_reason(stage, doc, commitment)}"
        if not confident:
            reason += "; doubtful, a maintainer should confirm"
        learn = None
        if confident and doc.dossier and commitment.is_bill and is_opening_document(doc):
            learn = canonical_dossier(doc.dossier)
            reason += f"; dossier {learn} will be linked"
        matches.append(Match(slug=slug, stage=stage, via="title", confident=confident, score=hit.score,
                             reason=reason, learn_dossier=learn))
    matches.sort(key=lambda m: (-m.score, m.slug))
    return matches
