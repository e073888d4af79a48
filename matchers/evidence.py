"""Text evidence: how strongly the words of a document say it is about a commitment, and which words said so.

A commitment is described by everything the catalog knows of it, each piece a **facet**: its title, its aliases,
the record's wording (`Commitment.record`: statutory titles, citeertitel, Grondwet clause), the promise quotes of
the letters, and, weakly, the words of its notes. A facet is a sequence of **units**: a content word (its stem,
and the stems of its compound parts) or a phrase of the legislative vocabulary (one concept). A document is the
set of terms of its subject (`matchers.classify.view`).

For one commitment and one document:

- **coverage** of a facet: the share of the facet's weight the document holds. A unit counts fully when the
  document has its stem or its concept as a word; in part when the document has it only inside a compound of
  its own ("kandidaatstelling" in "kandidaatstellingsprocedure"), or has the unit's compound parts as words of
  their own ("lobby register" for "lobbyregister"). A part shared only inside two different compounds
  ("uitvoering" in "uitvoeringswet" and "uitvoeringshandelingen") counts for nothing: they name different things.
  A facet whose year or ordinal the document contradicts ("2025" against "2023", "tweede tranche" against
  "eerste tranche") counts for much less.
- **explained**: the share of the document subject's weight that the commitment's words account for. A bill
  that shares one law name with a commitment and says much else is a look-alike; a bill whose every word the
  commitment knows is the commitment's.
- the **score** (0-100) is a weighted harmonic mean of the best facet's coverage (scaled down for a facet too
  light to identify anything on its own) and the explained share: both must be high. `matchers.engine` sets what
  counts as confident and doubtful.

The name of a law a text amends ("Wijziging van de Kieswet in verband met ...") counts for little on both sides:
every amendment of that law shares it; what the bill does tells it apart. Weights (`Weights`) make
"lobbyregister" count and "wet" not. Pure and fast: profiles are compiled once per catalog; documents are analysed
once per distinct text.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from matchers.catalog import Catalog, Commitment
from matchers.terms import FUNCTION_WORDS, RECORD_WORDS, compound_parts, content_words, general_specificity, stem
from matchers.terms import vocabulary as _vocabulary
from matchers.text import normalize

# A description heavier than this (a promise's whole sentence) is covered by this much of its weight: a document
# need not repeat a whole paragraph of a letter to be about it.
FACET_CAP = 5.0
# A facet lighter than this identifies nothing on its own: its coverage is scaled down in proportion.
FACET_REFERENCE_WEIGHT = 1.2
# How much a unit counts when the document has it only as part of a compound, or has only its parts.
PARTS_CREDIT = 0.85
# A compound part less specific than this gives no partial credit ("stem" in "stemhokje" and "stembiljet").
PART_MINIMUM = 0.35
# A specific part (at least this weight) shared inside two different compounds counts for this share of it.
SPECIFIC_PART = 0.6
INNER_PART_CREDIT = 0.5
# Notes are context written for people (often in English): their words support a match, never carry one.
NOTES_FACTOR = 0.5
# How much the name of an amended law counts, against what the bill does.
LAW_FACTOR = 0.35
# A facet whose year or ordinal the document contradicts keeps this share of its coverage.
CONFLICT_FACTOR = 0.4
# How much a facet word counts that only a letter's carrier dossier holds ("Verkiezingen", "Integriteitsbeleid
# openbaar bestuur en politie"): the dossier says what the letter is filed under, not what it is about.
CONTEXT_FACTOR = 0.5
# How specific a ministry's name is ("Binnenlandse Zaken en Koninkrijksrelaties"): it says who, not what about.
SENDER_WEIGHT = 0.05
# Weight of the best facet's coverage against the explained share in the harmonic mean.
FACET_SHARE = 0.6

_ORDINAL_TEXT = "eerste tweede derde vierde vijfde zesde zevende achtste negende tiende"
_ORDINALS = frozenset(_ORDINAL_TEXT.split())
_YEAR = re.compile(r"^(?:19|20)\d\d$")
# The nouns an ordinal numbers in a name: the "tweede tranche" of a law, the "eerste lezing" of a Grondwet change.
_SEQUENCES = frozenset({"tranche", "lezing", "fase", "deel", "wijziging"})


@dataclass(frozen=True, slots=True)
class Unit:
    """One content word (or vocabulary concept) of a text."""

    term: str  # stem, or "=concept"
    parts: tuple[str, ...] = ()  # stems of its compound parts
    joins: tuple[str, ...] = ()  # stems of neighbouring parts joined: joins[i] spans parts[i] and parts[i + 1]
    word: str = ""  # as written (normalized), for reasons
    law: bool = False  # part of the name of a law the text amends ("Wijziging van de Kieswet in verband met ...")


@dataclass(frozen=True, slots=True)
class TextTerms:
    """A text's units, its whole-word terms (stems and concepts), the terms found only inside its compounds,
    and its years and ordinals."""

    units: tuple[Unit, ...]
    whole: frozenset[str]
    inner: frozenset[str]
    words: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)  # term -> the word
    years: frozenset[str] = frozenset()
    ordinals: frozenset[str] = frozenset()
    text: str = ""  # the normalized text itself

    @property
    def terms(self) -> frozenset[str]:
        return self.whole | self.inner


_NO_TERMS = TextTerms((), frozenset(), frozenset())
WeighedUnits = tuple[tuple[Unit, float, tuple[float, ...]], ...]

# "Wijziging van de Kieswet en de Gemeentewet in verband met ...": the laws amended, then what the bill does.
_AMENDS = re.compile(r"\b(?:wijziging|wijzigingen|aanpassing|herziening) (?:(?:van|in) )?(?:de |het )?")
_PURPOSE = re.compile(r"\b(?:in verband met|ter|tot|teneinde|met het oog op|ten behoeve van|om|inzake|houdende|"
                      r"strekkende tot|waarmee|zodat|alsmede|en enkele|en enige|en andere|ter uitvoering)\b")


_LAW_ENDINGS = ("wet", "wetboek", "wetten")


def _law_flags(normalized: str, n_words: int) -> list[tuple[bool, bool]]:
    """For each content word of a normalized text: (whether it stands where an amendment names the laws it
    amends, whether it names a law there): in the span after "wijziging van" up to what the bill does, a word
    ending in -wet or -wetboek and the words of a law's name after "wet" ("de Wet open overheid")."""
    spans: list[tuple[int, int]] = []
    for m in _AMENDS.finditer(normalized):
        end = _PURPOSE.search(normalized, m.end())
        spans.append((m.end(), end.start() if end else len(normalized)))
    if not spans:
        return [(False, False)] * n_words
    flags: list[tuple[bool, bool]] = []
    position = 0
    named = False
    current: tuple[int, int] | None = None
    for word in normalized.split():
        start = normalized.find(word, position)
        position = start + len(word)
        span = next((sp for sp in spans if sp[0] <= start < sp[1]), None)
        if span != current:
            current, named = span, False
        law = False
        if span is not None and word.endswith(_LAW_ENDINGS):
            law = named = True
        elif span is not None and named:
            law = True
        if word not in FUNCTION_WORDS:
            flags.append((span is not None, law))
    return flags


def _pieces(word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(stems of the compound parts of `word`, stems of the joins of neighbouring parts)."""
    pieces = compound_parts(word)
    if not pieces:
        return (), ()
    n = 1
    total = len(pieces[0])
    while n < len(pieces) and total < len(word) - 2 * n:
        total += len(pieces[n])
        n += 1
    parts = tuple(stem(p) for p in pieces[:n])
    joins = tuple(stem(j) for j in pieces[n:])
    return parts, joins if len(joins) == len(parts) - 1 else ()


@lru_cache(maxsize=32768)
def text_terms(normalized: str) -> TextTerms:
    """The units and terms of a normalized text."""
    if not normalized:
        return _NO_TERMS
    words = content_words(normalized)
    stems = [stem(w) for w in words]
    laws = _law_flags(normalized, len(words))
    spans = vocabulary_spans(tuple(stems))
    units: list[Unit] = []
    whole: set[str] = set()
    inner: set[str] = set()
    found: dict[str, str] = {}
    covered: set[int] = set()
    for start, end, name in spans:
        text = " ".join(words[start:end])
        in_span = any(f[0] for f in laws[start:end])
        law = any(f[1] for f in laws[start:end]) or (in_span and name in _vocabulary().laws)
        units.append(Unit(name, word=text, law=law))
        whole.add(name)
        found.setdefault(name, text)
        covered.update(range(start, end))
    years: set[str] = set()
    ordinals: set[str] = set()
    for i, (word, s) in enumerate(zip(words, stems, strict=True)):
        if i in covered:
            continue
        if _YEAR.match(word):
            years.add(word)
        elif word in _ORDINALS and i + 1 < len(words) and words[i + 1] in _SEQUENCES:
            ordinals.add(f"{word} {words[i + 1]}")  # "tweede tranche", "eerste lezing"
        parts, joins = _pieces(word)
        whole.add(s)
        found.setdefault(s, word)
        for p in (*parts, *joins):
            inner.add(p)
            found.setdefault(p, word)
        units.append(Unit(s, parts, joins, word, laws[i][1]))
    return TextTerms(tuple(units), frozenset(whole), frozenset(inner - whole), found, frozenset(years),
                     frozenset(ordinals), normalized)


def vocabulary_spans(stems: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """(start, end, concept) of every vocabulary form in a stem sequence, longest first, not overlapping."""
    vocab = _vocabulary()
    found: list[tuple[int, int, str]] = []
    taken: set[int] = set()
    for i, s in enumerate(stems):
        candidates = vocab.by_first.get(s)
        if not candidates:
            continue
        for form, name in sorted(candidates, key=lambda c: -len(c[0])):
            end = i + len(form)
            if stems[i:end] == form and not taken.intersection(range(i, end)):
                found.append((i, end, name))
                taken.update(range(i, end))
                break
    return found


def _parts_found(unit: Unit, weights: Sequence[float], whole: frozenset[str],
                 inner: frozenset[str] = frozenset()) -> float:
    """The weighted share of a compound unit's parts that a text has as words of its own (a part, or a join
    of two parts, written as a word), and, for half, the specific parts it has inside another compound
    ("rekenkamer" in "rekenkameronderzoek" for "rekenkamerrapporten"; a common part such as "uitvoering" in
    "uitvoeringswet" and "uitvoeringshandelingen" names nothing in common)."""
    total = sum(weights)
    if total <= 0.0 or not unit.parts:
        return 0.0
    hit = [1.0 if p in whole else 0.0 for p in unit.parts]
    for i, j in enumerate(unit.joins):
        if j in whole:
            hit[i] = hit[i + 1] = 1.0
    if inner:
        for i, (p, w) in enumerate(zip(unit.parts, weights, strict=True)):
            if not hit[i] and w >= SPECIFIC_PART and p in inner:
                hit[i] = INNER_PART_CREDIT
    return sum(w * h for w, h in zip(weights, hit, strict=True) if w >= PART_MINIMUM) / total


# --------------------------------------------------------------------------------------------- weights


@dataclass(frozen=True, slots=True)
class Weights:
    """How specific a term is: Dutch word frequency (`terms.general_specificity` of the word it came from) times
    the catalog's own frequency (a term in many commitments tells them apart less). A term the catalog never uses
    counts as fully catalog-specific (only the document side weighs it)."""

    catalog: Mapping[str, float]  # term -> catalog factor in [0.25, 1]
    df: Mapping[str, int] = field(default_factory=dict)  # term -> how many commitments use it

    def of(self, term: str, word: str) -> float:
        return _general(term, word) * self.catalog.get(term, 1.0)

    def law(self, term: str) -> float:
        """How much an amended law's name counts: little when several commitments amend that law (the Kieswet),
        fully when only one does (the Kaderwet zelfstandige bestuursorganen: amending it is that commitment)."""
        n = self.df.get(term, 0)
        return 1.0 if n <= 1 else LAW_FACTOR if n >= 3 else (1.0 + LAW_FACTOR) / 2

    def unit(self, unit: Unit) -> float:
        return self.of(unit.term, unit.word) * (self.law(unit.term) if unit.law else 1.0)

    def parts(self, unit: Unit) -> tuple[float, ...]:
        return tuple(self.of(p, p) for p in unit.parts)


@lru_cache(maxsize=65536)
def _general(term: str, word: str) -> float:
    if term.startswith("="):
        return SENDER_WEIGHT if term in _vocabulary().senders else 1.0
    if word in RECORD_WORDS:
        return 0.0
    return general_specificity(word)


def _catalog_weights(df: Mapping[str, int], n: int) -> Weights:
    log_n = math.log(max(n, 2))
    factor = {t: 0.25 + 0.75 * max(0.0, math.log(max(n, 2) / count)) / log_n for t, count in df.items()}
    return Weights(factor, dict(df))


# --------------------------------------------------------------------------------------------- profiles


@dataclass(frozen=True, slots=True)
class Facet:
    """One description of a commitment, compiled: its units with their weights."""

    kind: str  # title | alias | record | promise | notes
    label: str  # how a reason names it: "alias 'Wpp'", "the promise of 000 line 77"
    units: tuple[Unit, ...]
    weights: tuple[float, ...]
    part_weights: tuple[tuple[float, ...], ...]
    total: float
    years: frozenset[str] = frozenset()
    ordinals: frozenset[str] = frozenset()
    chambers: frozenset[str] = frozenset()  # the commitment's own chamber concepts (its names, not its quotes)
    joined: tuple[tuple[int, str], ...] = ()  # (i, stem of words i and i+1 written as one word)
    keys: frozenset[str] = frozenset()  # every term a document may hold to count for one of its units
    by_key: Mapping[str, tuple[int, ...]] = field(default_factory=dict, compare=False, hash=False)

    size: float = 1.0  # a facet too light to identify anything on its own counts in proportion to its weight
    name: str = ""  # a law's name ("wet op de politieke partijen"): written out whole, it names the law

    def coverage(self, subject: Subject) -> float:
        """The share of the facet's weight the document holds. Words only in the context (a letter's carrier
        dossier) count for `CONTEXT_FACTOR`."""
        found = self.keys & subject.combined.terms
        if not found or self.total <= 0.0:
            return 0.0
        got = 0.0
        for _, credit in self._credits(subject, found):
            got += credit
        share = min(1.0, got / min(self.total, FACET_CAP))
        if (self.years or self.ordinals or self.chambers) and _conflicts(self, subject.combined):
            share *= CONFLICT_FACTOR
        return share

    def words(self, subject: Subject) -> list[str]:
        """The facet's words the document holds, heaviest first (for the reason)."""
        found = self.keys & subject.combined.terms
        credits = sorted(self._credits(subject, found), key=lambda x: -x[1])
        return [self.units[i].word for i, _ in credits]

    def _credits(self, subject: Subject, found: frozenset[str]) -> list[tuple[int, float]]:
        by_key = self.by_key
        if len(found) == 1:
            candidates: Iterable[int] = by_key[next(iter(found))]
        else:
            candidates = {i for term in found for i in by_key[term]}
        own, context = subject.subject, subject.context
        together: set[int] = set()
        if self.joined:
            together = {i for i, term in self.joined if term in own.whole}
            together |= {i + 1 for i in together}
        whole, inner = own.whole, own.inner
        out: list[tuple[int, float]] = []
        for i in candidates:
            weight = self.weights[i]
            if weight <= 0.0:
                continue
            unit = self.units[i]
            term = unit.term
            # "Financieleverhoudingswet" is "Financiële-verhoudingswet" written as one word
            if term in whole or i in together:
                out.append((i, weight))
                continue
            credit = weight * PARTS_CREDIT if term in inner else (
                _credit(unit, weight, self.part_weights[i], own) if unit.parts else 0.0)
            if credit < weight and context.units:
                credit = max(credit, CONTEXT_FACTOR * _credit(unit, weight, self.part_weights[i], context))
            if credit > 0.0:
                out.append((i, credit))
        return out


def _is_law_name(text: str) -> bool:
    """Whether a normalized description is a law's name: "wet op de politieke partijen", "kieswet",
    "wet versterking waarborgfunctie awb" (at least two words, starting with "wet" or ending in -wet)."""
    words = text.split()
    return len(words) >= 2 and len(words) <= 10 and (words[0] in ("wet", "rijkswet") or words[-1].endswith("wet"))


def _facet_keys(units: tuple[Unit, ...], joined: tuple[tuple[int, str], ...]) -> dict[str, tuple[int, ...]]:
    """term -> the units it may count for: a unit's own term, its compound parts and their joins, and the word two
    units make when written as one."""
    keys: dict[str, list[int]] = {}
    for i, unit in enumerate(units):
        for term in (unit.term, *unit.parts, *unit.joins):
            keys.setdefault(term, []).append(i)
    for i, term in joined:
        keys.setdefault(term, []).extend((i, i + 1))
    return {t: tuple(dict.fromkeys(v)) for t, v in keys.items()}


_CHAMBERS = frozenset({"=eerstekamer", "=tweedekamer"})


def _conflicts(facet: Facet, doc: TextTerms) -> bool:
    """Whether the document contradicts what tells this commitment apart from its neighbours: another year
    ("Evaluatie ... 2025" against the evaluation of 2023), another ordinal of the same sequence ("eerste lezing"
    against the "tweede lezing"; a commitment that is a law's "tweede tranche" is not the law without it), the
    other chamber (a proposal on the Tweede Kamer against one on the Eerste Kamer)."""
    if facet.years and doc.years and not facet.years & doc.years:
        return True
    for marker in facet.ordinals:
        noun = marker.split()[1]
        theirs = {o for o in doc.ordinals if o.endswith(" " + noun)}
        if (theirs and marker not in theirs) or (noun == "tranche" and not theirs):
            return True  # the first tranche is not the second; a law named by its tranche is that tranche
    chambers = doc.whole & _CHAMBERS
    return bool(facet.chambers and chambers and not facet.chambers & chambers)


def _credit(unit: Unit, weight: float, part_weights: tuple[float, ...], doc: TextTerms) -> float:
    if unit.term in doc.whole:
        return weight
    if unit.term in doc.inner:
        return weight * PARTS_CREDIT
    if unit.parts:
        found = _parts_found(unit, part_weights, doc.whole, doc.inner)
        return weight if found >= 1.0 else weight * PARTS_CREDIT * found  # "lobby register" is "lobbyregister"
    return 0.0


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything the catalog knows of one commitment's wording."""

    slug: str
    facets: tuple[Facet, ...]
    terms: Mapping[str, float]  # every term of its facets -> its heaviest weight (the index)
    whole: frozenset[str]  # the terms of its words and concepts (explaining a document's words)
    inner: frozenset[str]  # terms found only inside its compounds
    scored: tuple[Facet, ...] = ()  # the facets that can carry a match (the notes only support one)


def _facet_texts(c: Commitment) -> list[tuple[str, str, str]]:
    """(kind, label, text) of every description of `c`."""
    out: list[tuple[str, str, str]] = [("title", f"the title '{c.title}'", c.title)]
    out += [("alias", f"alias '{a}'", a) for a in c.aliases]
    for w in c.record:
        for text in w.texts:
            out.append(("record", f"the record's wording '{_short(text)}'", text))
    for p in c.promises:
        out.append(("promise", f"the promise of {p.letter[:3]} line {p.line}", p.quote))
    if c.notes:
        out.append(("notes", "the catalog's notes", c.notes))
    return out


def _short(text: str, n: int = 70) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def compile_profiles(catalog: Catalog) -> tuple[dict[str, Profile], Weights]:
    """The profile of every commitment and the catalog's weights. A promise sentence several commitments quote
    (one sentence of a letter naming three bills) cannot tell them apart: it is left out of each."""
    texts = {c.slug: _facet_texts(c) for c in catalog}
    owners: dict[str, set[str]] = {}
    for slug, items in texts.items():
        for _, _, text in items:
            owners.setdefault(normalize(text), set()).add(slug)
    raw: dict[str, list[tuple[str, str, TextTerms]]] = {}
    df: dict[str, int] = {}
    for c in catalog:
        facets = [(kind, label, text_terms(normalize(text))) for kind, label, text in texts[c.slug]
                  if len(owners[normalize(text)]) == 1 or kind in ("title", "alias", "record")]
        raw[c.slug] = facets
        seen: set[str] = set()
        for kind, _, tt in facets:
            if kind != "notes":
                seen.update(tt.terms)
        for term in seen:
            df[term] = df.get(term, 0) + 1
    weights = _catalog_weights(df, len(raw))
    profiles: dict[str, Profile] = {}
    for slug, facets in raw.items():
        compiled: list[Facet] = []
        terms: dict[str, float] = {}
        whole: set[str] = set()
        inner: set[str] = set()
        # The laws this commitment amends ("Wijziging van de Wet open overheid"): wherever its descriptions name
        # them ("uitvoerbaarheid van de Wet open overheid") they are the law it changes, not its own name.
        amended = {u.term for _, _, tt in facets for u in tt.units if u.law}
        names = [tt for kind, _, tt in facets if kind in ("title", "alias", "record")]
        ordinals = frozenset(o for tt in names for o in tt.ordinals)
        chambers = frozenset(t for tt in names for t in tt.whole & _CHAMBERS)
        for kind, label, tt in facets:
            factor = NOTES_FACTOR if kind == "notes" else 1.0
            unit_weights = tuple(
                weights.unit(u) * factor * (weights.law(u.term) if u.term in amended and not u.law else 1.0)
                for u in tt.units)
            joined = tuple((i, stem(a.word + b.word)) for i, (a, b) in enumerate(itertools.pairwise(tt.units))
                           if not a.term.startswith("=") and not b.term.startswith("=") and " " not in a.word + b.word)
            by_key = _facet_keys(tt.units, joined)
            name = tt.text if kind in ("title", "alias", "record") and _is_law_name(tt.text) else ""
            compiled.append(Facet(kind, label, tt.units, unit_weights, tuple(weights.parts(u) for u in tt.units),
                                  sum(unit_weights), tt.years, ordinals, chambers, joined, frozenset(by_key), by_key,
                                  min(1.0, sum(unit_weights) / FACET_REFERENCE_WEIGHT), name))
            whole.update(tt.whole)
            inner.update(tt.inner)
            for term, word in tt.words.items():
                w = weights.of(term, word) * factor
                if w > terms.get(term, 0.0):
                    terms[term] = w
        profiles[slug] = Profile(slug, tuple(compiled), terms, frozenset(whole), frozenset(inner - whole),
                                 tuple(f for f in compiled if f.kind != "notes"))
    return profiles, weights


# --------------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True, slots=True)
class Evidence:
    """How a document's words bear on one commitment."""

    slug: str
    score: float  # 0-100
    coverage: float  # of the best facet
    explained: float  # share of the document's subject the commitment accounts for
    facet: Facet | None
    subject: Subject | None = field(default=None, compare=False)  # what it was weighed on (for the reason)
    explains: frozenset[str] = frozenset()  # the document's terms the commitment accounts for

    @property
    def words(self) -> tuple[str, ...]:
        """The facet words the document holds, heaviest first."""
        if self.facet is None or self.subject is None:
            return ()
        return tuple(self.facet.words(self.subject))

    def why(self) -> str:
        shown = ", ".join(dict.fromkeys(self.words[:6])) or "(no words)"
        where = self.facet.label if self.facet is not None else "the commitment"
        return f"{shown} — from {where}"


@dataclass(frozen=True, slots=True)
class Subject:
    """What a document is about, as terms: `subject` (its own subject) and `context` (a carrier dossier's
    title, which supports coverage but is not the subject); `combined` is both."""

    subject: TextTerms
    context: TextTerms
    combined: TextTerms
    _weighed: dict[int, WeighedUnits] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, subject: TextTerms, context: TextTerms) -> Subject:
        return cls(subject, context, _merge(subject, context) if context.units else subject)

    def weighed(self, weights: Weights) -> WeighedUnits:
        """The subject's units with their weights under `weights` (computed once per catalog)."""
        found = self._weighed.get(id(weights))
        if found is None:
            found = self._weighed[id(weights)] = weighed_units(self.subject, weights)
        return found

    @property
    def terms(self) -> frozenset[str]:
        return self.combined.terms


def _merge(a: TextTerms, b: TextTerms) -> TextTerms:
    whole = a.whole | b.whole
    return TextTerms(a.units + b.units, whole, (a.inner | b.inner) - whole, {**b.words, **a.words},
                     a.years | b.years, a.ordinals | b.ordinals, f"{a.text} | {b.text}")


def weighed_units(subject: TextTerms, weights: Weights) -> WeighedUnits:
    """The subject's units with their weights and their parts' weights, once per document."""
    out = []
    for unit in subject.units:
        w = weights.unit(unit)
        if w > 0.0:
            out.append((unit, w, weights.parts(unit) if unit.parts else ()))
    return tuple(out)


def explained_share(units: WeighedUnits, profile: Profile) -> tuple[float, frozenset[str]]:
    """The share of the subject's weight whose units the profile knows (in part for compounds), and the terms."""
    total = got = 0.0
    explains: list[str] = []
    whole, inner = profile.whole, profile.inner
    for unit, w, part_weights in units:
        total += w
        term = unit.term
        if term in whole:
            got += w
        elif term in inner:
            got += w * PARTS_CREDIT
        elif unit.parts:
            share = _parts_found(unit, part_weights, whole, inner)
            if share <= 0.0:
                continue
            got += w if share >= 1.0 else w * PARTS_CREDIT * share
        else:
            continue
        explains.append(term)
    return (got / total if total > 0.0 else 0.0), frozenset(explains)


def score(subject: Subject, profile: Profile, weights: Weights, floor: float = 0.0,
          explained: tuple[float, frozenset[str]] | None = None, facet_share: float = FACET_SHARE) -> Evidence:
    """The evidence that `subject` is about `profile`'s commitment (`explained`: its explained share, when the
    caller has it); 0 when it cannot reach `floor`."""
    share, explains = explained if explained is not None else explained_share(subject.weighed(weights), profile)
    explained_ = share
    if explained_ <= 0.0 or 100.0 * combine(1.0, explained_, facet_share) < floor:
        return Evidence(profile.slug, 0.0, 0.0, explained_, None)
    best = 0.0
    best_cov = 0.0
    best_facet: Facet | None = None
    for facet in profile.scored:
        cov = facet.coverage(subject)
        if cov <= 0.0:
            continue
        value = cov * facet.size
        if facet.name and facet.size < 1.0 and f" {facet.name} " in f" {subject.subject.text} ":
            value = cov  # the law's whole name, written out, names it however common its words are
        if value > best:
            best, best_cov, best_facet = value, cov, facet
    if best_facet is None:
        return Evidence(profile.slug, 0.0, 0.0, explained_, None)
    # Both must hold: the commitment's words are in the document, and the document is about little else.
    value = 100.0 * combine(best, explained_, facet_share)
    return Evidence(profile.slug, round(value, 1), best_cov, explained_, best_facet, subject, explains)


def combine(facet: float, explained: float, share: float = FACET_SHARE) -> float:
    """A weighted harmonic mean: high only when both are."""
    if facet <= 0.0 or explained <= 0.0:
        return 0.0
    return 1.0 / (share / facet + (1.0 - share) / explained)


def explained_minimum(floor: float, share: float = FACET_SHARE) -> float:
    """The least explained share with which a perfectly covered description still reaches `floor` (0-100)."""
    return (1.0 - share) / (100.0 / floor - share)


def explained_all(units: WeighedUnits, owners: Owners) -> dict[str, tuple[float, frozenset[str]]]:
    """slug -> `explained_share(units, profile)` for every commitment that explains anything, in one pass over the
    subject's units through the inverted index (the same credits as `explained_share`)."""
    total = 0.0
    got: dict[str, float] = {}
    explains: dict[str, list[str]] = {}
    whole_of, inner_of = owners.whole, owners.inner
    for unit, w, part_weights in units:
        total += w
        term = unit.term
        full = whole_of.get(term, _NOBODY)
        for slug in full:
            got[slug] = got.get(slug, 0.0) + w
            explains.setdefault(slug, []).append(term)
        for slug in inner_of.get(term, _NOBODY) - full:
            got[slug] = got.get(slug, 0.0) + w * PARTS_CREDIT
            explains.setdefault(slug, []).append(term)
        if unit.parts:
            total_parts = sum(part_weights)
            if total_parts <= 0.0:
                continue
            shares: dict[str, float] = {}
            hit: dict[str, dict[int, float]] = {}
            for i, p in enumerate(unit.parts):
                for slug in whole_of.get(p, _NOBODY):
                    hit.setdefault(slug, {})[i] = 1.0
                if part_weights[i] >= SPECIFIC_PART:
                    for slug in inner_of.get(p, _NOBODY):
                        hit.setdefault(slug, {}).setdefault(i, INNER_PART_CREDIT)
            for i, j in enumerate(unit.joins):
                for slug in whole_of.get(j, _NOBODY):
                    found = hit.setdefault(slug, {})
                    found[i] = found[i + 1] = 1.0
            for slug, idx in hit.items():
                if slug in full or slug in inner_of.get(term, _NOBODY):
                    continue
                share = sum(part_weights[i] * h for i, h in idx.items() if part_weights[i] >= PART_MINIMUM)
                share /= total_parts
                if share > 0.0:
                    shares[slug] = share
            for slug, share in shares.items():
                got[slug] = got.get(slug, 0.0) + (w if share >= 1.0 else w * PARTS_CREDIT * share)
                explains.setdefault(slug, []).append(term)
    if total <= 0.0:
        return {}
    return {slug: (g / total, frozenset(explains[slug])) for slug, g in got.items()}


@dataclass(frozen=True, slots=True)
class Owners:
    """term -> the commitments whose descriptions hold it as a word or concept (`whole`), or only inside a
    compound (`inner`)."""

    whole: Mapping[str, frozenset[str]]
    inner: Mapping[str, frozenset[str]]


_NOBODY: frozenset[str] = frozenset()


def build_owners(profiles: Mapping[str, Profile]) -> Owners:
    whole: dict[str, set[str]] = {}
    inner: dict[str, set[str]] = {}
    for slug, profile in profiles.items():
        for term in profile.whole:
            whole.setdefault(term, set()).add(slug)
        for term in profile.inner:
            inner.setdefault(term, set()).add(slug)
    return Owners({t: frozenset(v) for t, v in whole.items()}, {t: frozenset(v) for t, v in inner.items()})
