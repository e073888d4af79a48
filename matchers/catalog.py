"""The catalog of commitments: loading and validating the human-edited YAML files in `commitments/`.

Every quote is verified against the seed letter it names (copied into `commitments/seeds/`), every timing is
parsed, and every mistake is refused with file, commitment and field named. The format is documented in
`commitments/README.md`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from matchers.catalog_files import CATALOG_DIR, SEEDS_DIR
from matchers.deadlines import Deadline, DeadlineError, parse_deadline
from matchers.stages import Stage, parse_stage

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DOSSIER_RE = re.compile(r"^\d{5}(?:-[A-Z0-9]+)?$")
RIJKSWET_RE = re.compile(r"^R\d{3,5}$")


class Kind(StrEnum):
    WETSVOORSTEL = "wetsvoorstel"
    GRONDWETSVOORSTEL = "grondwetsvoorstel"
    RIJKSWET = "rijkswet"
    AMVB = "amvb"
    KAMERBRIEF = "kamerbrief"
    VISIE = "visie"
    EVALUATIE = "evaluatie"
    MONITOR = "monitor"
    OTHER = "other"


BILL_KINDS = frozenset({Kind.WETSVOORSTEL, Kind.GRONDWETSVOORSTEL, Kind.RIJKSWET})
MINISTRIES = frozenset(
    {"AZ", "BZK", "BZ", "Def", "EZ", "Fin", "IenW", "JenV", "KGG", "LVVN", "OCW", "SZW", "VRO", "VWS", "AenM"}
)
SUBSECTIONS = frozenset({"aangekondigd", "verwacht"})


class CatalogError(ValueError):
    """A catalog file is wrong; the message names file, commitment and field."""


def parse_kind(value: str) -> Kind:
    """The kind named `value`; a `ValueError` naming the allowed kinds otherwise."""
    try:
        return Kind(value)
    except ValueError:
        raise ValueError(f"unknown kind {value!r}; allowed: {', '.join(k.value for k in Kind)}") from None


@dataclass(frozen=True, slots=True)
class Promise:
    """One promise of a commitment in one letter."""

    letter: str  # seed file name, e.g. 000_415c6a15cb3a979c.txt
    letter_date: dt.date
    line: int
    quote: str
    stage: Stage
    deadline: Deadline | None = None
    section: str | None = None
    subsection: str | None = None
    chapter: str | None = None

    @property
    def as_written(self) -> str | None:
        return self.deadline.as_written if self.deadline else None

    @property
    def due(self) -> dt.date | None:
        return self.deadline.due if self.deadline else None


@dataclass(frozen=True, slots=True)
class Wording:
    """How the record will name a commitment: the statutory title of the bill (or its pattern), its citeertitel,
    and for a Grondwet proposal the clause after "strekkende tot". `source` says where each came from (a seed
    line, a reference file, a real Kamerstuk)."""

    source: str
    title: str | None = None
    citeertitel: str | None = None
    clause: str | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(t for t in (self.title, self.citeertitel, self.clause) if t)


@dataclass(frozen=True, slots=True)
class Commitment:
    """A promised bill, letter or reform, with all the promises made of it."""

    slug: str
    title: str
    kind: Kind
    ministry: str
    aliases: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    dossiers: tuple[str, ...] = ()
    promises: tuple[Promise, ...] = ()
    notes: str | None = None
    origin: str = ""  # the file that defines it, or "maintainer"
    rijkswet_numbers: tuple[str, ...] = ()  # R2187: how a Rijkswet proposal is numbered besides its dossier
    record: tuple[Wording, ...] = ()  # the wording the record will use (titles, citeertitel, Grondwet clause)
    initiative: bool = False  # the promised bill is a member's initiative bill (the cabinet's own bills are not)

    @property
    def latest_promise(self) -> Promise | None:
        """The most recent promise (by letter date, then by order): its deadline is the commitment's."""
        if not self.promises:
            return None
        return max(enumerate(self.promises), key=lambda ip: (ip[1].letter_date, ip[0]))[1]

    @property
    def due(self) -> dt.date | None:
        latest = self.latest_promise
        return latest.due if latest else None

    @property
    def is_bill(self) -> bool:
        return self.kind in BILL_KINDS


@dataclass(frozen=True)
class Catalog:
    """All commitments by slug, in file order."""

    commitments: Mapping[str, Commitment]
    files: tuple[str, ...] = ()
    letters: Mapping[str, str] = field(default_factory=dict)  # seed file name -> letter name

    def __iter__(self) -> Iterator[Commitment]:
        return iter(self.commitments.values())

    def __len__(self) -> int:
        return len(self.commitments)

    def __contains__(self, slug: object) -> bool:
        return slug in self.commitments

    def get(self, slug: str) -> Commitment | None:
        return self.commitments.get(slug)

    @cached_property
    def by_dossier(self) -> Mapping[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for c in self:
            for d in c.dossiers:
                out.setdefault(d, []).append(c.slug)
        return {d: tuple(s) for d, s in out.items()}


# --------------------------------------------------------------------------------------------- seeds


class SeedText:
    """A seed letter with whitespace-insensitive quote lookup that reports line numbers.

    PDF and Word extraction broke lines anywhere, repeated spaces and split words with a hyphen at a line
    end ("vereenvoudig-\\nde"): a quote matches the text with whitespace collapsed, either as it stands or with
    such line-end hyphenation joined."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._views = [self._collapse(text, join_hyphens=False), self._collapse(text, join_hyphens=True)]

    @staticmethod
    def _collapse(text: str, *, join_hyphens: bool) -> tuple[str, list[int]]:
        out: list[str] = []
        lines: list[int] = []
        i, line, n = 0, 1, len(text)
        while i < n:
            c = text[i]
            if join_hyphens and c == "-" and i + 1 < n and text[i + 1] == "\n":
                j = i + 1
                while j < n and text[j].isspace():
                    j += 1
                if j < n and text[j].islower():
                    line += text.count("\n", i, j)
                    i = j
                    continue
            if c.isspace():
                if out and out[-1] != " ":
                    out.append(" ")
                    lines.append(line)
                if c == "\n":
                    line += 1
                i += 1
                continue
            out.append(c)
            lines.append(line)
            i += 1
        return "".join(out), lines

    def lines_of(self, quote: str) -> list[int]:
        """The lines on which `quote` starts (empty when it does not occur)."""
        q = " ".join(quote.split())
        if not q:
            return []
        found: set[int] = set()
        for collapsed, lines in self._views:
            start = collapsed.find(q)
            while start != -1:
                found.add(lines[start])
                start = collapsed.find(q, start + 1)
        return sorted(found)


def load_seeds(directory: Path = SEEDS_DIR) -> dict[str, SeedText]:
    return {p.name: SeedText(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.txt"))}


# --------------------------------------------------------------------------------------------- loading


def _str_list(value: Any, where: str, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise CatalogError(f"{where}: field {name!r} must be a list of strings")
    out = tuple(str(v).strip() for v in value)
    if any(not v for v in out):
        raise CatalogError(f"{where}: field {name!r} has an empty entry")
    return out


def _require_str(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: field {key!r} is missing or not a text")
    return value.strip()


_COMMITMENT_KEYS = {"slug", "title", "kind", "ministry", "aliases", "require", "exclude", "dossiers", "notes",
                    "promises", "rijkswet_numbers", "record", "initiative"}
_EXTENSION_KEYS = {"rijkswet_numbers", "slug", "aliases", "require", "exclude", "dossiers", "promises", "notes",
                   "record"}
_WORDING_KEYS = {"title", "citeertitel", "clause", "source"}
_PROMISE_KEYS = {"line", "quote", "timing", "stage", "section", "subsection", "chapter", "notes"}


def _parse_promise(raw: Any, where: str, letter: str, letter_date: dt.date, seed: SeedText) -> Promise:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: a promise must be a mapping")
    unknown = set(raw) - _PROMISE_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    quote = _require_str(raw, "quote", where)
    line = raw.get("line")
    if not isinstance(line, int) or isinstance(line, bool) or line < 1:
        raise CatalogError(f"{where}: field 'line' must be a positive line number")
    lines = seed.lines_of(quote)
    if not lines:
        raise CatalogError(f"{where}: field 'quote' does not occur in seeds/{letter}: {quote[:80]!r}")
    if line not in lines:
        raise CatalogError(
            f"{where}: field 'line' is {line}, but the quote starts on line {', '.join(map(str, lines))}"
        )
    try:
        stage = parse_stage(str(raw.get("stage")))
    except ValueError as exc:
        raise CatalogError(f"{where}: field 'stage': {exc}") from None
    timing = raw.get("timing")
    deadline = None
    if timing is not None:
        if not isinstance(timing, str | int):
            raise CatalogError(f"{where}: field 'timing' must be a text or null")
        try:
            deadline = parse_deadline(str(timing), letter_date)
        except DeadlineError as exc:
            raise CatalogError(f"{where}: field 'timing': {exc}") from None
    subsection = raw.get("subsection")
    if subsection is not None and subsection not in SUBSECTIONS:
        raise CatalogError(f"{where}: field 'subsection' must be one of {', '.join(sorted(SUBSECTIONS))}")
    return Promise(
        letter=letter, letter_date=letter_date, line=line, quote=" ".join(quote.split()), stage=stage,
        deadline=deadline, section=raw.get("section"), subsection=subsection, chapter=raw.get("chapter"),
    )


def _parse_record(raw: Any, where: str) -> list[Wording]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CatalogError(f"{where}: field 'record' must be a list of wordings (title, citeertitel, clause, source)")
    out: list[Wording] = []
    for n, entry in enumerate(raw, start=1):
        here = f"{where}: record #{n}"
        if not isinstance(entry, dict):
            raise CatalogError(f"{here}: must be a mapping with title, citeertitel, clause and source")
        unknown = set(entry) - _WORDING_KEYS
        if unknown:
            raise CatalogError(f"{here}: unknown field(s) {', '.join(sorted(unknown))}")
        values = {k: (str(entry[k]).strip() if entry.get(k) is not None else None) for k in _WORDING_KEYS}
        if not values["source"]:
            raise CatalogError(f"{here}: field 'source' is missing: say where the wording comes from")
        if not (values["title"] or values["citeertitel"] or values["clause"]):
            raise CatalogError(f"{here}: give at least one of title, citeertitel, clause")
        out.append(Wording(source=values["source"] or "", title=values["title"] or None,
                           citeertitel=values["citeertitel"] or None, clause=values["clause"] or None))
    return out


@dataclass
class _Draft:
    slug: str
    title: str | None = None
    kind: Kind | None = None
    ministry: str | None = None
    aliases: list[str] = field(default_factory=list)
    require: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    dossiers: list[str] = field(default_factory=list)
    promises: list[Promise] = field(default_factory=list)
    notes: str | None = None
    origin: str | None = None
    rijkswet_numbers: list[str] = field(default_factory=list)
    record: list[Wording] = field(default_factory=list)
    initiative: bool = False
    mentioned_in: list[str] = field(default_factory=list)


def _extend_unique(target: list[str], values: Iterable[str]) -> None:
    for v in values:
        if v not in target:
            target.append(v)


def load_catalog(directory: Path = CATALOG_DIR, seeds_dir: Path | None = None) -> Catalog:
    """Load and validate every `*.yaml` in `directory` against the seeds; raise `CatalogError` on the
    first mistake."""
    seeds = load_seeds(seeds_dir or directory / "seeds")
    drafts: dict[str, _Draft] = {}
    files: list[str] = []
    letters: dict[str, str] = {}
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise CatalogError(f"{directory}: no catalog files (*.yaml)")
    for path in paths:
        files.append(path.name)
        _load_file(path, seeds, drafts, letters)

    commitments: dict[str, Commitment] = {}
    for slug, d in drafts.items():
        if d.title is None or d.kind is None or d.ministry is None:
            raise CatalogError(
                f"{d.mentioned_in[0]}: commitment {slug!r} gets promises here but is defined in no file "
                "(one file must give its title, kind and ministry)"
            )
        commitments[slug] = Commitment(
            slug=slug, title=d.title, kind=d.kind, ministry=d.ministry, aliases=tuple(d.aliases),
            require=tuple(d.require), exclude=tuple(d.exclude), dossiers=tuple(d.dossiers),
            promises=tuple(d.promises), notes=d.notes, origin=d.origin or "",
            rijkswet_numbers=tuple(d.rijkswet_numbers), record=tuple(d.record), initiative=d.initiative,
        )
    return Catalog(commitments=commitments, files=tuple(files), letters=letters)


def _load_file(path: Path, seeds: Mapping[str, SeedText], drafts: dict[str, _Draft], letters: dict[str, str]) -> None:
    name = path.name
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{name}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise CatalogError(f"{name}: the file must be a mapping with 'letter', 'date' and 'commitments'")
    letter = doc.get("letter")
    if not isinstance(letter, str) or letter not in seeds:
        raise CatalogError(f"{name}: field 'letter' must name a seed file in commitments/seeds/, got {letter!r}")
    letter_date = doc.get("date")
    if not isinstance(letter_date, dt.date):
        raise CatalogError(f"{name}: field 'date' must be the letter's date as YYYY-MM-DD")
    letters[letter] = str(doc.get("name") or letter)
    items = doc.get("commitments")
    if not isinstance(items, list):
        raise CatalogError(f"{name}: field 'commitments' must be a list")
    seen_here: set[str] = set()
    for index, item in enumerate(items, start=1):
        where = f"{name}: commitment #{index}"
        if not isinstance(item, dict):
            raise CatalogError(f"{where}: must be a mapping")
        slug = item.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise CatalogError(f"{where}: field 'slug' must be lowercase words joined by hyphens, got {slug!r}")
        where = f"{name}: commitment {slug!r}"
        if slug in seen_here:
            raise CatalogError(f"{where}: duplicate slug (appears twice in this file)")
        seen_here.add(slug)
        defines = "title" in item
        allowed = _COMMITMENT_KEYS if defines else _EXTENSION_KEYS
        unknown = set(item) - allowed
        if unknown:
            hint = "" if defines else " (an item without 'title' only adds promises to a commitment defined elsewhere)"
            raise CatalogError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}{hint}")
        draft = drafts.setdefault(slug, _Draft(slug))
        draft.mentioned_in.append(name)
        if defines:
            if draft.origin is not None:
                raise CatalogError(f"{where}: duplicate slug (already defined in {draft.origin})")
            draft.origin = name
            draft.title = _require_str(item, "title", where)
            try:
                draft.kind = parse_kind(str(item.get("kind")))
            except ValueError as exc:
                raise CatalogError(f"{where}: field 'kind': {exc}") from None
            ministry = _require_str(item, "ministry", where)
            if ministry not in MINISTRIES:
                raise CatalogError(
                    f"{where}: field 'ministry': unknown ministry {ministry!r}; "
                    f"allowed: {', '.join(sorted(MINISTRIES))}"
                )
            draft.ministry = ministry
            notes = item.get("notes")
            draft.notes = str(notes).strip() if notes else None
            initiative = item.get("initiative", False)
            if not isinstance(initiative, bool):
                raise CatalogError(f"{where}: field 'initiative' must be true or false")
            draft.initiative = initiative
        _extend_unique(draft.aliases, _str_list(item.get("aliases"), where, "aliases"))
        _extend_unique(draft.require, _str_list(item.get("require"), where, "require"))
        _extend_unique(draft.exclude, _str_list(item.get("exclude"), where, "exclude"))
        dossiers = _str_list(item.get("dossiers"), where, "dossiers")
        for d in dossiers:
            if not DOSSIER_RE.match(d):
                raise CatalogError(f"{where}: field 'dossiers': {d!r} is not a Kamerstukdossier number like 36742")
        _extend_unique(draft.dossiers, dossiers)
        rijkswet = _str_list(item.get("rijkswet_numbers"), where, "rijkswet_numbers")
        for r in rijkswet:
            if not RIJKSWET_RE.match(r):
                raise CatalogError(f"{where}: field 'rijkswet_numbers': {r!r} is not a Rijkswet number like R2187")
        _extend_unique(draft.rijkswet_numbers, rijkswet)
        draft.record.extend(_parse_record(item.get("record"), where))
        promises = item.get("promises")
        if not isinstance(promises, list) or not promises:
            raise CatalogError(f"{where}: field 'promises' must list at least one promise")
        for p_index, raw in enumerate(promises, start=1):
            draft.promises.append(
                _parse_promise(raw, f"{where}: promise #{p_index}", letter, letter_date, seeds[letter])
            )
