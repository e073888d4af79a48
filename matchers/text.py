"""Dutch text normalization and phrase matching for the matcher.

Titles reach us in many spellings of the same name: "Financiële-verhoudingswet", "Financiële verhoudingswet",
"financieleverhoudingswet", "regio’s" and "regio's". Everything is compared after `normalize`: casefolded,
diacritics stripped, apostrophes dropped, every other punctuation mark (hyphen, slash, quote, comma, «») a
space, whitespace collapsed. A phrase then matches on token boundaries only ("lobby" is not found in
"lobbyverbod"), while a compound written as one word or as two matches either way ("financiele
verhoudingswet" is found in "financieleverhoudingswet" and the other way round): the phrase's tokens joined
must equal a run of the haystack's tokens joined, starting and ending on token boundaries.

Pure and fast: the engine normalizes each document once and builds one `Haystack`; the catalog's phrases are
compiled once per catalog into `Phrase` objects.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Letters that NFKD does not decompose into a base letter plus marks ("ß" is already "ss" after casefold).
_SPECIAL_LETTERS = {"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
# Apostrophes vanish ("regio's" -> "regios") so that typographic and straight ones agree.
_APOSTROPHES = frozenset("\u2018\u2019\u201b\u00b4\u02bc\u02b9")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def _ascii_table() -> bytes:
    """Bytes translation: letters and digits stay, every other ASCII character separates words."""
    return bytes(c if chr(c).isascii() and chr(c).isalnum() else 0x20 for c in range(256))


_BYTES_TABLE = _ascii_table()


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """The ASCII stand-in of one non-ASCII character: its base letters ("ë" -> "e", "ĳ" -> "ij"), nothing for
    an apostrophe or a combining mark, a space for anything else (punctuation, other scripts)."""
    if ch in _APOSTROPHES or unicodedata.combining(ch):
        return ""
    if ch in _SPECIAL_LETTERS:
        return _SPECIAL_LETTERS[ch]
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).casefold()
    if base.isascii() and base.isalnum():
        return base
    return " "


def _fold_match(m: re.Match[str]) -> str:
    return _fold_char(m.group())


# The non-ASCII characters of Dutch official titles, replaced by plain string scans (faster than a regex
# callback per character); anything else goes through `_fold_char`.
_COMMON = (("ë", "e"), ("é", "e"), ("ï", "i"), ("ö", "o"), ("ü", "u"), ("è", "e"), ("ê", "e"), ("á", "a"),
           ("à", "a"), ("ç", "c"), ("’", ""), ("‘", ""), ("–", " "), ("—", " "), ("«", " "), ("»", " "),
           ("“", " "), ("”", " "), ("\u00a0", " "))


def normalize(text: str) -> str:
    """The comparable form of `text`: lowercase ASCII-folded words separated by single spaces.

    Letters outside the Latin script (rare in Dutch official titles) become word separators."""
    folded = text.casefold().replace("'", "").replace("`", "")
    if not folded.isascii():
        for char, replacement in _COMMON:
            if char in folded:
                folded = folded.replace(char, replacement)
        if not folded.isascii():
            folded = _NON_ASCII.sub(_fold_match, folded)
    data = folded.encode("ascii").translate(_BYTES_TABLE)
    return " ".join(data.decode("ascii").split())


def tokens(text: str) -> tuple[str, ...]:
    """The words of `text` after `normalize`."""
    return tuple(normalize(text).split())


@dataclass(frozen=True, slots=True)
class Phrase:
    """A normalized phrase compiled for repeated matching."""

    text: str  # normalized, single spaces
    padded: str  # " text "
    squashed: str  # text without spaces: the compound form
    tokens: tuple[str, ...]

    @classmethod
    def of(cls, raw: str) -> Phrase:
        return _phrase(raw)


@lru_cache(maxsize=8192)
def _phrase(raw: str) -> Phrase:
    norm = normalize(raw)
    return Phrase(text=norm, padded=f" {norm} ", squashed=norm.replace(" ", ""), tokens=tuple(norm.split()))


class Haystack:
    """A normalized text prepared for many phrase lookups: the token-bounded form and the compound
    (squashed) form with the offsets where tokens start and end."""

    __slots__ = ("_ends", "_squashed", "_starts", "padded", "text", "tokens")

    def __init__(self, normalized: str) -> None:
        self.text = normalized
        self.padded = f" {normalized} "
        self.tokens = tuple(normalized.split())
        self._squashed: str | None = None
        self._starts: frozenset[int] = frozenset()
        self._ends: frozenset[int] = frozenset()

    @classmethod
    def of(cls, raw: str) -> Haystack:
        return cls(normalize(raw))

    def _boundaries(self) -> None:
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for tok in self.tokens:
            starts.append(pos)
            pos += len(tok)
            ends.append(pos)
        self._starts = frozenset(starts)
        self._ends = frozenset(ends)

    def contains(self, phrase: Phrase) -> bool:
        """Whether `phrase` occurs on token boundaries, a compound written joined or apart counting as one."""
        if not phrase.squashed:
            return False
        if phrase.padded in self.padded:
            return True
        squashed = self._squashed
        if squashed is None:
            squashed = self._squashed = "".join(self.tokens)
        target = phrase.squashed
        start = squashed.find(target)
        if start == -1:
            return False
        if not self._starts:
            self._boundaries()
        while start != -1:
            if start in self._starts and start + len(target) in self._ends:
                return True
            start = squashed.find(target, start + 1)
        return False

    def has_word_prefix(self, word: str) -> bool:
        """Whether a token starts with the normalized single word `word` (a Dutch compound head:
        "experiment" in "experimentenwet")."""
        if word not in self.text:
            return False
        return any(tok.startswith(word) for tok in self.tokens)


def contains_phrase(haystack_norm: str, phrase_norm: str) -> bool:
    """Whether the normalized phrase occurs in the normalized haystack on token boundaries (compounds
    joined or apart match each other)."""
    return Haystack(haystack_norm).contains(_phrase(phrase_norm))
