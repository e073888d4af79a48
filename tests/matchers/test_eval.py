"""Measured quality on the labelled evaluation set (tests/data/eval), against the real catalog: the set's shape,
its faithful reading through wetwacht's own parsers, and the floors of every part."""

from __future__ import annotations

import pytest

from bench import eval_legacy, evalset
from bench.evaluate import FLOORS, PARTS, Report, evaluate, format_report
from matchers.catalog import Catalog, load_catalog
from matchers.stages import Stage


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def parts(catalog: Catalog) -> list[evalset.Part]:
    return evalset.parts(evalset.EVAL_ROOT, catalog, ("tune", "heldout"))


@pytest.fixture(scope="module")
def reports(catalog: Catalog) -> dict[str, Report]:
    return evaluate(catalog, PARTS)


def test_the_new_set_is_large_hard_and_split_by_commitment(parts: list[evalset.Part], catalog: Catalog) -> None:
    items = [i for p in parts for i in p.items]
    negatives = [i for i in items if not i.positive]
    assert len(items) >= 350
    assert len(negatives) >= 150
    held = {s for p in parts if p.part == "heldout" for s in p.commitments}
    tune = {s for p in parts if p.part == "tune" for s in p.commitments}
    assert len(held | tune) >= 70
    assert not held & tune, "a commitment is in both parts"
    assert len(held) * 4 >= len(held | tune), "the held-out part holds about a third of the commitments"
    letters = {catalog.commitments[s].origin[:3] for s in held | tune}
    assert letters == {"000", "001", "002", "003", "004"}, "commitments from all five letters"
    for p in parts:
        if p.part == "tune":
            leaked = {s for i in p.items for s, _ in i.expect} & held
            assert not leaked, f"{p.name} holds documents of held-out commitments {sorted(leaked)}"
    classes = {i.cls for i in items}
    assert set(evalset.POSITIVE_CLASSES) - {"withdrawal", "other"} <= classes
    assert set(evalset.NEGATIVE_CLASSES) <= classes


def test_every_part_is_rendered_and_read_back(parts: list[evalset.Part], catalog: Catalog) -> None:
    held = evalset.held_out_commitments(parts)
    problems = [problem for p in parts for problem in evalset.check(p, catalog, held)]
    assert not problems, "\n".join(problems)


def test_the_legacy_set_is_read_faithfully() -> None:
    docs = dict(eval_legacy.load_documents())
    advice = docs["tk:2025D21083"]
    assert (advice.kind, advice.dossier, advice.ondernummer, advice.zaak, advice.kst, advice.chamber) == (
        "Advies Afdeling advisering Raad van State en Nader rapport", "36742", "4", "2025Z09154", "kst-36742-4", "TK")
    twin = docs["ob:kst-36742-4"]
    assert (twin.kst, twin.dossier, twin.entity, twin.kind) == ("kst-36742-4", "36742", "Kamerstuk",
                                                                "Advies Raad van State")
    vote = docs["tk:59b3219e-d798-4b15-a7b9-0066221f82db"]
    assert (vote.entity, vote.kind, vote.zaak, vote.extra["zaakSoort"]) == (
        "Besluit", "Stemmen - aangenomen", "2025Z22235", "Motie")
    deleted = docs["tk:2027D90001#3"]
    assert deleted.deleted and deleted.dossier == "36742"
    labels = eval_legacy.load_labels()
    assert set(labels) == set(docs)
    assert {s for label in labels.values() for _, s in label.expect} >= {
        Stage.ADVIES_RVS, Stage.INGEDIEND, Stage.AANGENOMEN_TK, Stage.GEPUBLICEERD, Stage.BRIEF, None}


def test_the_new_parts_are_read_through_the_product_parsers(parts: list[evalset.Part]) -> None:
    # Spot checks of what sources/ makes of the rendered files: a Kamerstuk with its kst id from the
    # DocumentVersie, a vote titled after its zaak, a KOOP twin with the same kst id.
    seen = {"Document": 0, "Besluit": 0, "Kamerstuk": 0, "Staatsblad": 0}
    for p in parts:
        for item, doc in evalset.documents(p):
            if doc is None:
                continue
            assert doc.key == item.doc
            if doc.entity in seen:
                seen[doc.entity] += 1
            if doc.entity == "Besluit":
                assert item.besluit is not None and doc.zaak == str(item.besluit["zaak"]["nummer"])
            if item.tk is not None and doc.kst and item.tk.get("kamerstukdossier"):
                assert doc.kst.startswith(f"kst-{item.tk['kamerstukdossier']['nummer']}")
    assert all(n > 10 for n in seen.values()), seen


def test_floors(reports: dict[str, Report], catalog: Catalog) -> None:
    for part, report in reports.items():
        floor_p, floor_r = FLOORS[part]
        text = format_report(report, catalog, details=part != "heldout")
        assert report.precision >= floor_p, text
        assert report.recall >= floor_r, text
