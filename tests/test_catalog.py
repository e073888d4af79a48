"""Catalog loading: the real catalog validates against the seeds, and every kind of mistake is refused with
file, commitment and field named."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import textwrap
from pathlib import Path

import pytest

from matchers.catalog import CatalogError, SeedText, load_catalog
from matchers.catalog_files import CATALOG_DIR, SEEDS_DIR
from matchers.stages import Stage

SHARED_SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

REQUIRED_SLUGS = [
    "wet-politieke-partijen", "lobbyregister", "constitutionele-toetsing", "correctief-referendum",
    "terugzendrecht-eerste-kamer", "verkiezing-eerste-kamer", "grondwet-ambtsdelicten",
    "herzieningswet-ambtsmisdrijven", "bijstand-bij-discriminatie", "waarborgfunctie-awb",
    "financiele-verhoudingswet", "vereenvoudigingswet", "stroomlijning-verkiezingsproces",
    "kandidaatstelling", "nieuw-stembiljet", "detectieorgaan-desinformatie", "demonstratierecht",
    "integriteit-decentraal-bestuur", "meldpunt-fouten-overheidsregistraties", "wijziging-woo",
    "nieuw-kiesstelsel", "kaderwet-rijksinspecties", "visie-regio", "evaluatie-verkiezingen-2025-2026",
]


# ------------------------------------------------------------------------------------- the real catalog


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


# SHA-256 of the five letters in ../shared/seeds, recorded when they were copied: the check holds on a checkout
# without ../shared (CI's clean clone) as well, and beside it the copies are also compared with the originals.
SEED_SHA256 = {
    "000_415c6a15cb3a979c.txt": "d008d7eb40ac3c915ebf8ca8abc2fa10106e947ce57b8a84ccaabfd683bb233f",
    "001_1f6ca667978ca3db.txt": "e8ab43c2b320a164e1e60e75e2f4e2cbe37c12000b05f211321861c87261fe82",
    "002_4ecc82ebad1aebf7.txt": "445e2676ef3827572a4aa2e1e5db014736f6b31bf94607d71ac39ce8f9cb7524",
    "003_1166f54ba1c9bc08.txt": "92a26162a7f3035dad1340995cd18a1b98d2e15bf7944d3951450d446ef2a3c9",
    "004_1bb4d63a0373bec4.txt": "ccffa5315e8ddf8b8b8e02d251517334e68d2a60600cf5281d218e8d56b42dfd",
}


def test_seed_copies_are_the_shared_letters_byte_for_byte() -> None:
    ours = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in SEEDS_DIR.glob("*.txt")}
    assert ours == SEED_SHA256
    if SHARED_SEEDS.is_dir():
        shared = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in SHARED_SEEDS.glob("*.txt")}
        assert shared == SEED_SHA256


def test_real_catalog_has_every_required_slug(catalog) -> None:  # type: ignore[no-untyped-def]
    missing = [s for s in REQUIRED_SLUGS if s not in catalog]
    assert missing == []


def test_real_catalog_has_one_file_per_letter(catalog) -> None:  # type: ignore[no-untyped-def]
    assert sorted(p.name for p in CATALOG_DIR.glob("*.yaml")) == sorted(
        p.name.replace(".txt", ".yaml") for p in SEEDS_DIR.glob("*.txt"))


def test_real_catalog_covers_every_letter(catalog) -> None:  # type: ignore[no-untyped-def]
    per_letter: dict[str, int] = {}
    for c in catalog:
        for letter in {p.letter for p in c.promises}:
            per_letter[letter] = per_letter.get(letter, 0) + 1
    assert set(per_letter) == {p.name for p in SEEDS_DIR.glob("*.txt")}
    # Bijlage 2 of the Regeerprogramma lists about 170 expected laws; the four BZK letters about 70 items.
    assert per_letter["003_1166f54ba1c9bc08.txt"] >= 150
    assert sum(n for letter, n in per_letter.items() if not letter.startswith("003")) >= 60


def test_real_catalog_bijlage2_promises_have_chapter_and_subsection(catalog) -> None:  # type: ignore[no-untyped-def]
    bijlage = [p for c in catalog for p in c.promises if p.letter.startswith("003") and p.chapter]
    assert len(bijlage) >= 150
    assert {p.subsection for p in bijlage} == {"aangekondigd", "verwacht"}


def test_known_dossiers_are_linked(catalog) -> None:  # type: ignore[no-untyped-def]
    assert "36742" in catalog.get("wet-politieke-partijen").dossiers
    assert "36892" in catalog.get("integriteit-decentraal-bestuur").dossiers
    assert "36468" in catalog.get("correctief-referendum").dossiers
    assert "36374" in catalog.get("terugzendrecht-eerste-kamer").dossiers
    assert "35532" in catalog.get("verkiezing-eerste-kamer").dossiers


def test_deadline_is_the_latest_promise(catalog) -> None:  # type: ignore[no-untyped-def]
    lobby = catalog.get("lobbyregister")
    assert lobby.latest_promise.letter.startswith("000")
    assert lobby.due == dt.date(2027, 6, 30)
    assert lobby.latest_promise.deadline.open_ended


# ------------------------------------------------------------------------------------- refusals

SEED = "000_415c6a15cb3a979c.txt"
GOOD = """
letter: 000_415c6a15cb3a979c.txt
name: test
date: 2026-04-14
commitments:
  - slug: lobbyregister
    title: Wetsvoorstel lobbyregister
    kind: wetsvoorstel
    ministry: BZK
    aliases: [Wet lobbyregister]
    promises:
      - line: {line}
        quote: "Wetsvoorstel lobbyregister"
        timing: "Q2 2027 en later"
        stage: ingediend
"""


def _line_of(quote: str) -> int:
    return SeedText((SEEDS_DIR / SEED).read_text(encoding="utf-8")).lines_of(quote)[0]


def _catalog_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    d = tmp_path / "catalog"
    (d / "seeds").mkdir(parents=True)
    shutil.copy(SEEDS_DIR / SEED, d / "seeds" / SEED)
    shutil.copy(SEEDS_DIR / "003_1166f54ba1c9bc08.txt", d / "seeds" / "003_1166f54ba1c9bc08.txt")
    for name, text in files.items():
        (d / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return d


def test_good_file_loads(tmp_path: Path) -> None:
    line = _line_of("Wetsvoorstel lobbyregister")
    catalog = load_catalog(_catalog_dir(tmp_path, {"a.yaml": GOOD.format(line=line)}))
    c = catalog.get("lobbyregister")
    assert c is not None and c.promises[0].stage is Stage.INGEDIEND and c.promises[0].line == line


def _refused(tmp_path: Path, text: str, *, extra: dict[str, str] | None = None) -> str:
    files = {"a.yaml": text, **(extra or {})}
    with pytest.raises(CatalogError) as info:
        load_catalog(_catalog_dir(tmp_path, files))
    return str(info.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("kind: wetsvoorstel", "kind: wetsontwerp"), "a.yaml: commitment 'lobbyregister': field 'kind': unknown kind 'wetsontwerp'"),
        (("stage: ingediend", "stage: klaar"), "promise #1: field 'stage': unknown stage 'klaar'"),
        (('quote: "Wetsvoorstel lobbyregister"', 'quote: "Wetsvoorstel lobbyverbod"'), "field 'quote' does not occur in seeds/000"),
        (('timing: "Q2 2027 en later"', 'timing: "binnenkort"'), "field 'timing': cannot parse timing 'binnenkort'"),
        (("ministry: BZK", "ministry: Binnenlandse Zaken"), "field 'ministry': unknown ministry"),
        (("slug: lobbyregister", "slug: Lobby Register"), "field 'slug' must be lowercase"),
        (("    aliases: [Wet lobbyregister]", "    aliases: Wet lobbyregister"), "field 'aliases' must be a list"),
        (("    aliases: [Wet lobbyregister]", "    dossiers: ['36 742']"), "is not a Kamerstukdossier number"),
    ],
    ids=["kind", "stage", "quote", "timing", "ministry", "slug", "aliases", "dossier"],
)
def test_refuses_with_file_commitment_and_field(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    text = GOOD.format(line=_line_of("Wetsvoorstel lobbyregister")).replace(*change)
    assert expected in _refused(tmp_path, text)


def test_refuses_wrong_line_and_says_the_right_one(tmp_path: Path) -> None:
    line = _line_of("Wetsvoorstel lobbyregister")
    message = _refused(tmp_path, GOOD.format(line=line + 3))
    assert f"field 'line' is {line + 3}, but the quote starts on line {line}" in message


def test_refuses_duplicate_definition_across_files(tmp_path: Path) -> None:
    line = _line_of("Wetsvoorstel lobbyregister")
    message = _refused(tmp_path, GOOD.format(line=line), extra={"b.yaml": GOOD.format(line=line)})
    assert "b.yaml: commitment 'lobbyregister': duplicate slug (already defined in a.yaml)" in message


def test_refuses_duplicate_slug_within_a_file(tmp_path: Path) -> None:
    line = _line_of("Wetsvoorstel lobbyregister")
    text = GOOD.format(line=line)
    item = text[text.index("  - slug"):]
    assert "duplicate slug (appears twice in this file)" in _refused(tmp_path, text + item)


def test_promise_only_item_for_undefined_slug_is_refused(tmp_path: Path) -> None:
    line = _line_of("Wetsvoorstel lobbyregister")
    text = f"""
letter: {SEED}
date: 2026-04-14
commitments:
  - slug: nergens-gedefinieerd
    promises:
      - {{line: {line}, quote: "Wetsvoorstel lobbyregister", timing: null, stage: ingediend}}
"""
    assert "'nergens-gedefinieerd' gets promises here but is defined in no file" in _refused(tmp_path, text)


def test_promises_from_two_letters_make_one_commitment(tmp_path: Path) -> None:
    line = _line_of("Wetsvoorstel lobbyregister")
    seed3 = SeedText((SEEDS_DIR / "003_1166f54ba1c9bc08.txt").read_text(encoding="utf-8"))
    quote3 = "Wet politieke partijen"
    line3 = seed3.lines_of(quote3)[0]
    extension = f"""
letter: 003_1166f54ba1c9bc08.txt
date: 2024-09-13
commitments:
  - slug: lobbyregister
    aliases: [Wijziging lobbyregister]
    promises:
      - {{line: {line3}, quote: "{quote3}", timing: null, stage: ingediend, chapter: H7, subsection: aangekondigd}}
"""
    catalog = load_catalog(_catalog_dir(tmp_path, {"a.yaml": GOOD.format(line=line), "b.yaml": extension}))
    c = catalog.get("lobbyregister")
    assert [p.letter for p in c.promises] == [SEED, "003_1166f54ba1c9bc08.txt"]
    assert c.aliases == ("Wet lobbyregister", "Wijziging lobbyregister")
    assert c.latest_promise.letter == SEED  # 2026 is later than 2024, whatever the file order


@pytest.mark.parametrize(
    ("quote", "found"),
    [
        ("Wetswijziging t.b.v. niet-indexeren maximum uurprijzen KOT 2026", True),  # split over a blank line
        ("Wetswijziging t.b.v. de bestendige en vereenvoudigde huurtoeslag", True),  # line-end hyphen joined
        ("Wetswijziging t.b.v. de bestendige en vereenvoudig- de huurtoeslag", True),  # or kept as it stands
        ("Wetswijziging t.b.v. de bestendige en vereenvoudigingsde huurtoeslag", False),
    ],
    ids=["blank-line", "hyphen-joined", "hyphen-kept", "absent"],
)
def test_quotes_survive_pdf_line_breaks(quote: str, found: bool) -> None:
    seed = SeedText((SEEDS_DIR / "003_1166f54ba1c9bc08.txt").read_text(encoding="utf-8"))
    assert bool(seed.lines_of(quote)) is found
