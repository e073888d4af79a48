"""The comparable terms of a Dutch official text, and how specific each term is.

The record and the letters name the same thing in different words: "toetsing" and "toetsen", "rechters" and
"rechter", "evaluatie" and "geëvalueerd" (inflection and derivation), "kandidaatstellingsprocedure" and
"kandidaatstelling" (compounds), "leden van de Staten-Generaal" and "Kamerleden" (the statutory term and the
everyday one). A text's terms are therefore:

- the **stems** of its content words, by the Snowball Dutch stemmer (PyStemmer's `dutch`, the Kraaij-Pohlmann
  algorithm: it folds derivations such as toetsing/toetsen and evaluatie/geëvalueerd together); function words
  are dropped before stemming;
- the stems of the **parts of its compounds**: a long word is split where both sides are Dutch words (wordfreq's
  Dutch word list, plus the catalog's own words), allowing the linking -s- and -e-/-en- of Dutch compounds,
  ("kandidaatstellingsprocedure" -> kandidaat, stelling, procedure);
- the **concepts** of the legislative vocabulary (`matchers/vocabulary.yaml`, each entry with its reason) whose
  forms occur in it, as one term `=<concept>`, so both sides of an equivalence meet.

How specific a term is (`Weights`) combines how common the word is in Dutch (wordfreq's Zipf frequency: "wet",
"regels", "zaken" say nothing; "lobbyregister", "fondsuitkering" say a lot) with how many commitments of the
catalog use it (a word in every other commitment, like "Kieswet", identifies none of them on its own).

Pure: no I/O after the word list and the vocabulary are loaded once per process.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import Stemmer
import wordfreq
import yaml

from matchers.text import normalize

VOCABULARY_FILE = Path(__file__).resolve().parent / "vocabulary.yaml"

# Function words: dropped before stemming (stemming "overheden" gives "over", which must not meet the preposition).
_FUNCTION_WORD_TEXT = """
de het een van en in op te tot met voor door bij aan om over inzake ter ten of als uit naar na zijn is wordt worden
dat die dit deze er hun haar ons onze zich hij zij we wij u uw ik je niet geen wel ook nog dan maar want dus
al alle andere enkele enige meer onder tegen tussen zonder sinds vanaf binnen buiten per via waarbij waarin
welke wie wat waar hoe wanneer hierbij daarbij alsmede evenals zoals mede reeds thans zal zullen kan kunnen moet
moeten heeft hebben had werd waren was zo eens elk elke ieder iedere beide
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORD_TEXT.split())

# Words every bill, letter and title of the record shares: they carry no evidence for one commitment over another
# (weight 0), whatever their frequency. "Eerste", "Tweede" and "Kamer" are not among them: they tell the chambers
# apart.
_RECORD_WORD_TEXT = """
wet wetten wetsvoorstel wetsvoorstellen wijziging wijzigingen wijzigen gewijzigd voorstel voorstellen regels regel
regeling verband houdende nieuwe nieuw staten generaal brief brieven minister ministers ministerie staatssecretaris
kabinet regering kamerstuk kamerstukken memorie toelichting nota verslag besluit verklaring grond bestaat
overweging nemen strekkende verandering aanpassing invoering inwerkingtreding tijdstip vaststelling kamer
vergaderjaar nr nummer jaar datum stand zaken aanbieding reactie kabinetsreactie kamerbrief
januari februari maart april mei juni juli augustus september oktober november december
begrotingsstaat begrotingsstaten
"""
RECORD_WORDS = frozenset(_RECORD_WORD_TEXT.split())

_MIN_COMPOUND = 8  # shorter words are not split
_MIN_PART = 3  # the shortest part of a compound
_LOOSE_PART = 6  # the shortest unknown part of a loosely split compound
_ZIPF_WHOLE = 3.3  # a word at least this common is a word of its own, not split
_LINKS = ("s", "e", "en")  # the linking sounds of Dutch compounds ("kandidaatstelling-s-procedure")
_ZIPF_ABSENT = 2.0  # a word not in the Dutch word list (wordfreq's small list stops near Zipf 3)
_ZIPF_COMMON = 6.0  # at or above this a word says nothing
_ZIPF_RARE = 3.0  # at or below this a word is as specific as words get


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("dutch")


@lru_cache(maxsize=1)
def _lexicon() -> Mapping[str, float]:
    """Dutch words (ASCII-folded as `normalize` folds them) with their Zipf frequency; wordfreq's small list."""
    words: dict[str, float] = {}
    for word, freq in wordfreq.get_frequency_dict("nl", wordlist="small").items():
        folded = normalize(word)
        if folded and " " not in folded and folded.isalpha():
            zipf = math.log10(freq) + 9
            if zipf > words.get(folded, 0.0):
                words[folded] = zipf
    return words


def zipf(word: str) -> float:
    """How common the normalized `word` is in Dutch (Zipf scale: 7 for "de", about 3 for rare words)."""
    return _lexicon().get(word, _ZIPF_ABSENT)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


_SEEDS_DIR = Path(__file__).resolve().parent.parent / "commitments" / "seeds"


@lru_cache(maxsize=1)
def _parts_lexicon() -> frozenset[str]:
    """Words a compound may be made of: Dutch words of wordfreq's list (four letters or more, or shorter common
    ones such as "wet" and "rijk"), and the words of the seed letters, which hold the policy vocabulary
    ("beslechting", "fondsuitkering") that a general word list lacks."""
    words = {w for w, z in _lexicon().items() if (len(w) >= _MIN_PART + 1 or z >= 4.5) and w not in FUNCTION_WORDS}
    for path in sorted(_SEEDS_DIR.glob("*.txt")):
        words.update(w for w in normalize(path.read_text(encoding="utf-8")).split()
                     if len(w) >= _MIN_PART + 1 and w.isalpha() and w not in FUNCTION_WORDS)
    return frozenset(words)


def compound_parts(word: str) -> tuple[str, ...]:
    """The parts of a Dutch compound, and the joins of neighbouring parts as the word writes them:
    "kandidaatstellingsprocedure" -> ("kandidaat", "stelling", "procedure", "kandidaatstelling",
    "stellingsprocedure"); () for a word that is common in its own right ("intrekking", "staatssecretarissen")
    or not made of known words."""
    if len(word) < _MIN_COMPOUND or not word.isalpha() or zipf(word) >= _ZIPF_WHOLE:
        return ()
    parts = _split(word, top=True) or _split_loosely(word)
    if not parts or len(parts) < 2:
        return ()
    spans: list[tuple[int, int]] = []
    at = 0
    for part in parts:
        start = word.find(part, at)
        spans.append((start, start + len(part)))
        at = start + len(part)
    joins = [word[a[0]:b[1]] for a, b in itertools.pairwise(spans) if (a[0], b[1]) != (0, len(word))]
    return (*parts, *joins)


@lru_cache(maxsize=65536)
def _split(word: str, *, top: bool = False) -> tuple[str, ...] | None:
    """`word` as a sequence of known words (right-headed: the longest known tail first), allowing a linking
    -s-, -e- or -en- before each tail; None when it cannot be made of known words."""
    lexicon = _parts_lexicon()
    if not top and word in lexicon:
        return (word,)
    for cut in range(_MIN_PART, len(word) - _MIN_PART + 1):
        tail = word[cut:]
        if tail not in lexicon:
            continue
        for h in _heads(word[:cut]):
            inner = _split(h)
            if inner is not None:
                return (*inner, tail)
    return None


def _heads(head: str) -> list[str]:
    return [h for h in (head, *(head[: -len(link)] for link in _LINKS if head.endswith(link))) if len(h) >= _MIN_PART]


def _split_loosely(word: str) -> tuple[str, ...] | None:
    """A two-part compound of which one long part is a known word and the other, at least six letters, is not
    ("geschil" + "beslechting", "waarborg" + "functie"): policy words too rare for any list. The cut falls
    where the parts are written, linking letters and all ("staats" + "secretarissen")."""
    lexicon = _parts_lexicon()
    for cut in range(len(word) - _LOOSE_PART, _LOOSE_PART - 1, -1):
        head, tail = word[:cut], word[cut:]
        if (head in lexicon) != (tail in lexicon):
            return (head, tail)
    return None


@dataclass(frozen=True, slots=True)
class Concept:
    """One entry of the vocabulary: the forms that name the same thing, as sequences of stems."""

    name: str  # the term it contributes: "=<first form, squashed>"
    forms: tuple[tuple[str, ...], ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Vocabulary:
    concepts: tuple[Concept, ...]
    by_first: Mapping[str, tuple[tuple[tuple[str, ...], str], ...]]  # first stem -> ((stems, concept name), ...)
    laws: frozenset[str]  # the concepts that name a law ("=awb": one form is "Algemene wet bestuursrecht")
    senders: frozenset[str] = frozenset()  # the concepts that name who acts (a ministry), not what about


def content_words(normalized: str) -> list[str]:
    """The words of a normalized text that are not function words."""
    return [w for w in normalized.split() if w not in FUNCTION_WORDS]


def _form_stems(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in content_words(normalize(text)))


def load_vocabulary(path: Path = VOCABULARY_FILE) -> Vocabulary:
    """The legislative vocabulary. Each entry: `same` (the forms), `reason` (why they are one thing, and where
    that was seen); a missing reason or a form with no content word is an error naming the entry."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{path}: must be a list of entries with 'same' and 'reason'")
    concepts: list[Concept] = []
    laws: set[str] = set()
    senders: set[str] = set()
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for n, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("same"), list) or not entry["same"] or (
                len(entry["same"]) < 2 and entry.get("role") != "sender"):
            raise ValueError(f"{path}: entry #{n} needs 'same' with at least two forms (one for a sender)")
        reason = str(entry.get("reason") or "").strip()
        if not reason:
            raise ValueError(f"{path}: entry #{n} ({entry['same'][0]}) has no reason")
        forms = []
        for form in entry["same"]:
            stems = _form_stems(str(form))
            if not stems:
                raise ValueError(f"{path}: entry #{n}: form {form!r} has no content word")
            forms.append(stems)
        name = "=" + normalize(str(entry["same"][0])).replace(" ", "")
        if any(w.endswith(("wet", "wetboek")) for form in entry["same"] for w in normalize(str(form)).split()):
            laws.add(name)
        role = entry.get("role")
        if role not in (None, "sender"):
            raise ValueError(f"{path}: entry #{n}: 'role' must be 'sender' or absent, got {role!r}")
        if role == "sender":
            senders.add(name)
        concepts.append(Concept(name=name, forms=tuple(forms), reason=reason))
        for stems in forms:
            by_first.setdefault(stems[0], []).append((stems, name))
    return Vocabulary(tuple(concepts), {k: tuple(v) for k, v in by_first.items()}, frozenset(laws),
                      frozenset(senders))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    return load_vocabulary()


def general_specificity(word: str) -> float:
    """1.0 for a rare word, 0.0 for a word every text has, linear in Zipf frequency in between."""
    if word in RECORD_WORDS or word in FUNCTION_WORDS:
        return 0.0
    if word.isdigit():
        # Years and numbers inside names ("Voortgangsrapportage 2026") are incidental; article numbers
        # ("artikel 120") are weighed by the catalog side alone.
        return 0.15 if len(word) == 4 and word.startswith(("19", "20")) else 0.5
    if len(word) <= 3 and word not in _lexicon():
        return 0.5  # an unknown abbreviation ("Wpp") may stand for many things
    z = zipf(word)
    if z >= _ZIPF_COMMON:
        return 0.0
    if z <= _ZIPF_RARE:
        return 1.0
    return (_ZIPF_COMMON - z) / (_ZIPF_COMMON - _ZIPF_RARE)
