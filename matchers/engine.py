"""Which commitments a document belongs to, at which stage, and why.

Identifiers first, exact: the document's dossier number, each `behandeldDossier` of a Staatsblad law, the dossier
of its `kst-` id, its rijkswet number and its TK zaak number, looked up in the catalog's own dossiers and in the
links the pipeline knows (learned, or set by maintainers). A document found by identifier belongs to that
commitment whatever its title says.

Text second, for documents no identifier ties to a commitment: after Dutch normalization (`matchers.text`) a
commitment's alias must occur on word boundaries (compounds written joined or apart count as one), every
`require` entry must be present and no `exclude` entry may be. Long formulaic aliases ("verandering in de
Grondwet van de bepalingen inzake ...") may also match approximately (rapidfuzz `partial_ratio`): at
`CONFIDENT` or above the match is confident, between `DOUBTFUL` and `CONFIDENT` it is doubtful (a maintainer
confirms it), below it there is none. Very short aliases ("Wpp") only ever give doubtful matches.

A confident text match on a document that opens a bill (`matchers.events.is_opening_document`) teaches the
pipeline the bill's dossier (`Match.learn_dossier`), so everything later in that dossier is found by number.

Speed: the catalog is compiled once per catalog object (aliases normalized, indexed by their rarest word and by
the compound forms of that word), so a document is checked only against the few aliases that share a rare word
with it.
"""

from __future__ import annotations

import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz

from matchers.catalog import Catalog, Commitment, Kind
from matchers.classify import classify, is_noise, specific_text
from matchers.events import is_opening_document
from matchers.stages import Stage
from matchers.text import Haystack, Phrase, normalize
from sources.base import Document, parse_kst

Via = Literal["dossier", "zaak", "kst", "title"]

CONFIDENT = 90.0
"""A text match scoring at least this is confident: it makes a published event and may teach a dossier."""
DOUBTFUL = 82.0
"""A text match scoring at least this (and below `CONFIDENT`) is doubtful: a maintainer confirms or rejects it."""
FUZZY_MIN_TOKENS = 5
"""Aliases of at least this many words may match approximately (the long formulaic titles)."""
FUZZY_MIN_OVERLAP = 0.75
"""Share of an alias's content words the document must contain before the fuzzy score is computed; the score is
the character similarity times that share, so a look-alike that lacks the distinguishing word ("Eerste" for
"Tweede", "correctief" for "raadgevend") falls below `DOUBTFUL`. Numbers in an alias must all be present."""

# Kinds of commitment whose promise is a letter: a government letter that names them delivers them.
LETTER_KINDS = frozenset({Kind.KAMERBRIEF, Kind.VISIE, Kind.EVALUATIE, Kind.MONITOR})
BRIEF_KINDS = LETTER_KINDS | {Kind.OTHER}

# Function words and the vocabulary every bill title shares: never the word an alias is indexed by, and left
# out when measuring how much of a long alias a document contains. "Eerste", "Tweede" and "Kamer" are not among
# them: they tell the chambers apart.
_STOPWORD_TEXT = """
de het een van en in op te tot met voor door bij aan om over inzake ter ten of als uit naar na zijn is wordt worden
dat die dit deze er hun haar ons onze zich wet wetten wijziging wijzigingen voorstel voorstellen regels regeling
verband houdende enkele andere alsmede onder meer nieuwe nieuw staten generaal brief minister ministerie
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Words of a letter that says the promised letter is *not* coming yet.
_DELAY_WORDS = ("uitstel", "uitgesteld", "vertraging", "vertraagd", "planning", "aankondiging")

_COMPOUND_MIN = 8  # a word this long may be a compound a document writes in two words
_PART_MIN = 5  # the shortest part of such a compound
_KAMER_STAGES = frozenset({Stage.INGEDIEND, Stage.AANGENOMEN_TK, Stage.VERWORPEN_TK, Stage.AANGENOMEN_EK,
                           Stage.VERWORPEN_EK, Stage.INGETROKKEN})
_DECREE_KINDS = frozenset({"amvb", "rijksamvb", "klein koninklijk besluit"})
_TEXT_FIELDS = ("dossiertitel", "onderwerp", "documenttitel", "citeertitel")
_SEPARATOR = " | "  # between fields: a phrase never runs from one field into the next
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


@dataclass(frozen=True, slots=True, eq=False)
class _Alias:
    slug: str
    raw: str
    phrase: Phrase
    content: frozenset[str]
    numbers: frozenset[str]
    exact_score: float
    fuzzy: bool


@dataclass(frozen=True, slots=True)
class _Entry:
    commitment: Commitment
    aliases: tuple[_Alias, ...]
    require: tuple[_Condition, ...]
    exclude: tuple[_Condition, ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    entries: Mapping[str, _Entry]
    dossiers: Mapping[str, frozenset[str]]  # canonical dossier -> slugs
    rijkswet: Mapping[str, frozenset[str]]  # R2187 -> slugs
    index: Mapping[str, tuple[_Alias, ...]]  # rare word (or compound of it) -> aliases
    keys: frozenset[str]  # the index's words, for one set intersection per document


@lru_cache(maxsize=8192)
def canonical_dossier(value: str) -> str:
    """A dossier number as the catalog writes it: ``36374`` for ``36374 (R2187)`` or ``36374-(R2187)``,
    ``36600-VII`` for ``36600 VII``."""
    value = _RIJKSWET_IN_DOSSIER.sub("", value.strip())
    return "-".join(value.split()).upper()


def _exact_score(phrase: Phrase) -> float:
    # Longer aliases say more: a 3-letter abbreviation ("Wpp") stays doubtful, seven letters or more confident.
    return min(100.0, 80.0 + 1.5 * len(phrase.squashed))


def _compile(catalog: Catalog) -> _Compiled:
    entries: dict[str, _Entry] = {}
    dossiers: dict[str, set[str]] = {}
    rijkswet: dict[str, set[str]] = {}
    frequency: dict[str, int] = {}
    pending: list[_Alias] = []
    for c in catalog:
        aliases: list[_Alias] = []
        seen: set[str] = set()
        for raw in c.aliases:
            phrase = Phrase.of(raw)
            if not phrase.squashed or phrase.text in seen:
                continue
            seen.add(phrase.text)
            content = frozenset(t for t in phrase.tokens if t not in STOPWORDS) or frozenset(phrase.tokens)
            fuzzy = len(phrase.tokens) >= FUZZY_MIN_TOKENS and len(content) >= 3
            numbers = frozenset(t for t in phrase.tokens if t.isdigit())
            alias = _Alias(c.slug, raw, phrase, content, numbers, _exact_score(phrase), fuzzy)
            aliases.append(alias)
            for tok in content:
                frequency[tok] = frequency.get(tok, 0) + 1
        pending.extend(aliases)
        entries[c.slug] = _Entry(
            commitment=c, aliases=tuple(aliases),
            require=tuple(_Condition(r, Phrase.of(r)) for r in c.require if normalize(r)),
            exclude=tuple(_Condition(x, Phrase.of(x)) for x in c.exclude if normalize(x)),
        )
        for d in c.dossiers:
            dossiers.setdefault(canonical_dossier(d), set()).add(c.slug)
        for r in c.rijkswet_numbers:
            rijkswet.setdefault(r.upper(), set()).add(c.slug)

    index: dict[str, list[_Alias]] = {}
    for alias in pending:
        for key in _index_keys(alias, frequency):
            bucket = index.setdefault(key, [])
            if alias not in bucket:
                bucket.append(alias)
    return _Compiled(
        entries=entries,
        dossiers={d: frozenset(s) for d, s in dossiers.items()},
        rijkswet={r: frozenset(s) for r, s in rijkswet.items()},
        index={k: tuple(v) for k, v in index.items()},
        keys=frozenset(index),
    )


def _index_keys(alias: _Alias, frequency: Mapping[str, int]) -> set[str]:
    """The words a document must contain for `alias` to be worth checking: its rarest content word (rarest in
    the catalog, longest on a tie; for a fuzzy alias also the second rarest, so that one changed word does not
    hide it), and the forms that word takes in a compound: joined with a content-word neighbour (the document
    writes "financieleverhoudingswet" where the alias says "Financiële-verhoudingswet"), and its leading parts
    (the document writes "lobby register" where the alias says "lobbyregister")."""
    toks = alias.phrase.tokens
    ranked = sorted(alias.content, key=lambda t: (frequency.get(t, 0), -len(t), t))
    chosen = ranked[:2] if alias.fuzzy else ranked[:1]
    keys: set[str] = set(chosen)
    for i, tok in enumerate(toks):
        if tok not in chosen:
            continue
        if i > 0 and toks[i - 1] not in STOPWORDS:
            keys.add(toks[i - 1] + tok)
        if i + 1 < len(toks) and toks[i + 1] not in STOPWORDS:
            keys.add(tok + toks[i + 1])
        if len(tok) >= _COMPOUND_MIN:
            keys.update(tok[:n] for n in range(_PART_MIN, len(tok) - _PART_MIN + 1) if tok[:n] not in STOPWORDS)
    if 1 < len(toks) <= 3:
        keys.add(alias.phrase.squashed)
    return keys


_BY_ID: dict[int, tuple[weakref.ref[Catalog], _Compiled]] = {}
_BY_FINGERPRINT: OrderedDict[int, _Compiled] = OrderedDict()
_FINGERPRINT_SLOTS = 8


def _fingerprint(catalog: Catalog) -> int:
    return hash(tuple(
        (c.slug, c.kind.value, c.aliases, c.require, c.exclude, c.dossiers, c.rijkswet_numbers) for c in catalog
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


# --------------------------------------------------------------------------------------------- matching


@lru_cache(maxsize=4096)
def _normalized(text: str) -> str:
    # Every document of a dossier repeats the dossier title: normalize it once.
    return normalize(text)


def _haystack(doc: Document) -> Haystack:
    """The document's words: its title and the dossier title, subject and document title the source gave,
    each once (a KOOP title already holds its dossier title)."""
    text = _normalized(doc.title) if doc.title else ""
    extra = doc.extra
    if extra:
        for key in _TEXT_FIELDS:
            raw = extra.get(key)
            if raw:
                norm = _normalized(raw)
                if norm and f" {norm} " not in f" {text} ":
                    text = f"{text}{_SEPARATOR}{norm}" if text else norm
    return Haystack(text)


@dataclass(frozen=True, slots=True)
class _TextHit:
    alias: _Alias
    score: float
    exact: bool


def _alias_hit(alias: _Alias, hay: Haystack, token_set: frozenset[str]) -> _TextHit | None:
    """How well one alias occurs in the document: exactly (on word boundaries), approximately (a long
    formulaic alias), or not at all."""
    if hay.contains(alias.phrase):
        return _TextHit(alias, alias.exact_score, True)
    if not alias.fuzzy:
        return None
    overlap = len(alias.content & token_set) / len(alias.content)
    if overlap < FUZZY_MIN_OVERLAP or not alias.numbers <= token_set:
        return None
    similarity = fuzz.partial_ratio(alias.phrase.text, hay.text, score_cutoff=DOUBTFUL)
    score = round(float(similarity) * overlap, 1)
    return _TextHit(alias, score, False) if score >= DOUBTFUL else None


def _admitted(entry: _Entry, hay: Haystack) -> bool:
    """No excluded word present and every required word present."""
    return not any(x.holds(hay) for x in entry.exclude) and all(r.holds(hay) for r in entry.require)


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
    kind = doc.kind or doc.entity
    if stage is None:
        return f"{kind} is a document about it, no new stage"
    return _STAGE_REASONS[stage].format(kind=kind, commitment_kind=commitment.kind.value)


def _stage_for(stage: Stage | None, commitment: Commitment, doc: Document, names_it: bool) -> Stage | None:
    """The document's stage as far as this commitment goes: a letter delivers only a promised letter, visie,
    evaluatie, monitor or other deliverable, and only when the letter itself names it and is not about a
    delay; a bill's stages mean nothing to a promised letter, the Kamer's stages nothing to an AMvB, and an
    implementing AMvB in the Staatsblad does not publish the law it names."""
    if stage is Stage.BRIEF:
        if commitment.kind not in BRIEF_KINDS or not names_it:
            return None
        own = specific_text(doc)
        if any(w in own for w in _DELAY_WORDS):
            return None
        return stage
    if commitment.kind in LETTER_KINDS and stage is not None:
        return None
    if commitment.kind is Kind.AMVB and stage in _KAMER_STAGES:
        return None  # an AMvB is not sent to or voted by the Kamer: a bill that names it is not its stage
    if stage is Stage.GEPUBLICEERD and commitment.is_bill and normalize(doc.kind) in _DECREE_KINDS:
        return None  # an implementing AMvB names the law but is not the law's publication
    return stage


def match_document(
    doc: Document,
    catalog: Catalog,
    links: Mapping[str, frozenset[str]],
    zaken: Mapping[str, frozenset[str]],
    rejected: frozenset[tuple[str, str]],
) -> list[Match]:
    """Every commitment `doc` belongs to, best first. `links` maps dossier numbers and `zaken` zaak numbers to
    slugs (the catalog's own dossiers count as linked); a (slug, document key) pair in `rejected` never
    comes back. Deleted and noise documents match nothing."""
    if doc.deleted or is_noise(doc):
        return []
    compiled = _compiled(catalog)
    ids = _identifier_hits(doc, compiled, links, zaken)
    hay = _haystack(doc)
    token_set = frozenset(hay.tokens)
    best: dict[str, _TextHit] = {}
    seen: set[_Alias] = set()
    index = compiled.index
    for token in token_set & compiled.keys:
        for alias in index[token]:
            if alias in seen:
                continue
            seen.add(alias)
            if ids and alias.slug not in ids:
                continue  # a document tied to a commitment by number is that commitment's, whatever its title says
            hit = _alias_hit(alias, hay, token_set)
            if hit is not None:
                previous = best.get(alias.slug)
                if previous is None or hit.score > previous.score:
                    best[alias.slug] = hit
    hits = {slug: hit for slug, hit in best.items()
            if slug in compiled.entries and _admitted(compiled.entries[slug], hay)}

    if not ids and not hits:
        return []
    raw_stage = classify(doc)
    matches: list[Match] = []
    for slug, (via, why) in ids.items():
        entry = compiled.entries.get(slug)
        if entry is None or (slug, doc.key) in rejected:
            continue  # a link to a slug the catalog does not hold (removed since) ties nothing
        hit = hits.get(slug)
        stage = _stage_for(raw_stage, entry.commitment, doc, hit is not None and hit.score >= CONFIDENT)
        reason = f"{why}; {_stage_reason(stage, doc, entry.commitment)}"
        matches.append(Match(slug=slug, stage=stage, via=via, confident=True, score=100.0, reason=reason))

    for slug, hit in hits.items():
        if slug in ids or (slug, doc.key) in rejected:
            continue
        commitment = compiled.entries[slug].commitment
        if commitment.kind in LETTER_KINDS and raw_stage not in (None, Stage.BRIEF):
            continue  # a bill's own documents (its MvT, its vote, its Staatsblad law) are not a promised letter
        confident = hit.score >= CONFIDENT
        stage = _stage_for(raw_stage, commitment, doc, confident)
        verb = "contains" if hit.exact else "resembles"
        reason = (f"title {verb} alias '{hit.alias.raw}' (score {hit.score:.0f}); "
                  f"{_stage_reason(stage, doc, commitment)}")
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
