"""How fast the matcher is: documents matched per second against the whole catalog on one core, and the peak
memory of compiling the catalog and matching.

`python -m bench.bench_matching [CATALOG_DIR]` (default: the real catalog in `commitments/`). The documents are
those of the whole evaluation set (legacy, tune and held-out parts, read through wetwacht's parsers), replayed as
20,000 documents, in rounds, two ways:

- **as the record repeats itself**: each with a fresh identifier and a unique number in its title, but its
  dossier's title, its zaak and its subject as they were. Documents of one dossier (its Kamerstukken, their KOOP
  twins, its votes) are about the same bill, and the matcher scores each distinct subject once.
- **every text unique**: a unique number in every text field as well (dossier title, subject, document title),
  so that nothing is ever scored twice: the matcher's speed on a stream of documents that are all new.

A last run pads the catalog with synthetic commitments up to 250, each with three aliases of its own, to show how
the matcher scales with the catalog.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import time
import tracemalloc
from pathlib import Path

from bench import eval_legacy, evalset
from matchers.catalog import CATALOG_DIR, Catalog, Commitment, Kind, load_catalog
from matchers.engine import clear_cache, match_document
from sources.base import Document

DOCUMENTS = 20_000
ROUNDS = 3
PADDED_SIZE = 250
# Words for the synthetic commitments' aliases: Dutch policy vocabulary the documents do not use together.
_WORDS = ("toezicht", "jeugdzorg", "energietransitie", "stikstof", "netcongestie", "woningbouw", "asielopvang",
          "pensioenen", "zorgpremie", "defensie", "cybersecurity", "rechtspraak", "onderwijsachterstand",
          "mijnbouw", "luchtvaart", "spoorvervoer", "waterveiligheid", "landbouwgrond", "natuurherstel",
          "arbeidsmigratie")


def _base() -> list[Document]:
    docs = [doc for _, doc in eval_legacy.load_documents()]
    for part in evalset.parts():
        docs += [doc for _, doc in evalset.documents(part) if doc is not None]
    return docs


_TEXT_FIELDS = ("titel", "onderwerp", "dossiertitel", "documenttitel", "citeertitel")


def corpus(n: int = DOCUMENTS, *, every_text_unique: bool = False) -> list[Document]:
    """`n` documents: the evaluation documents over and over, each with its own id and a unique title (and, with
    `every_text_unique`, a unique number in every text field)."""
    base = _base()
    out: list[Document] = []
    i = 0
    while len(out) < n:
        doc = base[i % len(base)]
        extra = dict(doc.extra)
        if every_text_unique:
            extra.update({k: f"{v} {i}" for k, v in extra.items() if k in _TEXT_FIELDS})
        out.append(dataclasses.replace(doc, id=f"{doc.id}-{i}", title=f"{doc.title} ({i})", extra=extra))
        i += 1
    return out


def padded(catalog: Catalog, size: int = PADDED_SIZE) -> Catalog:
    """`catalog` plus synthetic commitments up to `size`, so the bench measures a catalog of the full size."""
    commitments = dict(catalog.commitments)
    n = 0
    while len(commitments) < size:
        a, b, c = (_WORDS[(n + k * 7) % len(_WORDS)] for k in range(3))
        slug = f"synthetisch-{n}"
        commitments[slug] = Commitment(
            slug=slug, title=f"Wetsvoorstel {a} {n}", kind=Kind.WETSVOORSTEL, ministry="BZK",
            aliases=(f"Wet {a} en {b} {n}", f"versterking van het {c} {n}", f"{a}{b}wet {n}"),
            exclude=(f"{c}fonds",),
        )
        n += 1
    return Catalog(commitments=commitments, files=catalog.files, letters=catalog.letters)


def measure(catalog: Catalog, documents: list[Document]) -> tuple[float, int, int]:
    """(documents per second over the best of `ROUNDS` rounds, matches found, peak bytes traced)."""
    empty: dict[str, frozenset[str]] = {}
    rejected: frozenset[tuple[str, str]] = frozenset()
    match_document(documents[0], catalog, empty, empty, rejected)  # compile once, outside the timing
    best = float("inf")
    found = 0
    gc.collect()
    for _ in range(ROUNDS):
        found = 0
        start = time.perf_counter()
        for doc in documents:
            found += len(match_document(doc, catalog, empty, empty, rejected))
        best = min(best, time.perf_counter() - start)
    clear_cache()
    gc.collect()
    tracemalloc.start()
    for doc in documents:
        match_document(doc, catalog, empty, empty, rejected)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return len(documents) / best, found, peak


def main(catalog_dir: Path | None = None) -> None:
    catalog = load_catalog(catalog_dir or CATALOG_DIR)
    runs = (
        ("catalog, as the record repeats itself", catalog, corpus()),
        ("catalog, every text unique", catalog, corpus(every_text_unique=True)),
        (f"catalog padded to {PADDED_SIZE}, every text unique", padded(catalog), corpus(every_text_unique=True)),
    )
    for label, cat, documents in runs:
        rate, found, peak = measure(cat, documents)
        print(f"{label}: {len(cat)} commitments, {len(documents)} documents, {found} matches: "
              f"{rate:,.0f} documents/s on one core; peak traced memory {peak / 1024 / 1024:,.1f} MiB "
              "(compiling the catalog, then matching every document)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
