"""Measured quality on the labelled evaluation set (tests/data/eval), against the real catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.evaluate import (
    EVAL_DIR,
    PRECISION_FLOOR,
    RECALL_FLOOR,
    Report,
    evaluate,
    format_report,
    load_documents,
    load_labels,
)
from matchers.catalog import Catalog, load_catalog
from matchers.stages import Stage


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def report(catalog: Catalog) -> Report:
    return evaluate(catalog, load_documents(), load_labels())


def test_the_set_is_large_and_hard_enough(catalog: Catalog) -> None:
    labels = load_labels()
    positives = {k: v for k, v in labels.items() if v.expect}
    negatives = len(labels) - len(positives)
    commitments = {slug for label in positives.values() for slug, _ in label.expect}
    stages = {stage for label in positives.values() for _, stage in label.expect}
    assert negatives >= 150
    assert len(commitments) >= 15
    assert {Stage.ADVIES_RVS, Stage.INGEDIEND, Stage.AANGENOMEN_TK, Stage.VERWORPEN_TK, Stage.GEPUBLICEERD,
            Stage.IN_WERKING, Stage.INGETROKKEN, Stage.BRIEF, None} <= stages
    missing = sorted(commitments - set(catalog.commitments))
    assert not missing, f"labels name commitments the catalog does not have: {missing}"
    assert all(label.reason.strip() for label in labels.values())


def test_every_document_has_exactly_one_label() -> None:
    keys = [key for key, _ in load_documents()]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(load_labels())


def test_precision_and_recall_floors(report: Report, catalog: Catalog) -> None:
    text = format_report(report, catalog)
    assert report.precision >= PRECISION_FLOOR, text
    assert report.recall >= RECALL_FLOOR, text


def test_the_loader_reads_the_upstream_formats_faithfully() -> None:
    docs = dict(load_documents())
    advice = docs["tk:2025D21083"]
    assert (advice.kind, advice.dossier, advice.ondernummer, advice.zaak, advice.kst, advice.chamber) == (
        "Advies Afdeling advisering Raad van State en Nader rapport", "36742", "4", "2025Z09154", "kst-36742-4", "TK")
    assert advice.extra["dossiertitel"].endswith("(Wet op de politieke partijen)")
    twin = docs["ob:kst-36742-4"]
    assert (twin.kst, twin.dossier, twin.entity, twin.kind) == ("kst-36742-4", "36742", "Kamerstuk",
                                                                "Advies Raad van State")
    rijkswet = docs["tk:2023D90012"]
    assert (rijkswet.dossier, rijkswet.extra["rijkswetnummer"]) == ("36374", "R2187")
    ek = docs["ob:kst-36468-E"]
    assert (ek.chamber, ek.ondernummer) == ("EK", "E")
    law = docs["ob:stb-2027-9201"]
    assert (law.entity, law.kind, law.extra["behandeldDossier"]) == ("Staatsblad", "Wet", "36742")
    vote = docs["tk:59b3219e-d798-4b15-a7b9-0066221f82db"]
    assert (vote.entity, vote.kind, vote.zaak, vote.extra["zaakSoort"]) == (
        "Besluit", "Stemmen - aangenomen", "2025Z22235", "Motie")
    # a delete marker keeps the last known fields of its document
    deleted = docs["tk:2027D90001#3"]
    assert deleted.deleted and deleted.dossier == "36742"


def test_data_files_are_where_the_loader_looks() -> None:
    expected = Path(__file__).resolve().parents[1] / "data" / "eval"
    assert expected == EVAL_DIR
    assert {p.name for p in EVAL_DIR.iterdir()} >= {
        "labels.yaml", "tk_document.xml", "tk_documentversie.xml", "tk_zaak.xml", "tk_kamerstukdossier.xml",
        "tk_besluit.json", "ob_sru.xml"}
