"""Where the catalog's files are, and their fingerprint: what a command needs to know that the catalog synced into
the database is still the catalog of the files, without loading the YAML parser (`matchers.catalog` reads them)."""

from __future__ import annotations

import hashlib
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent.parent / "commitments"
SEEDS_DIR = CATALOG_DIR / "seeds"
# How the files are read counts too: a change to the parser or to the deadlines re-syncs the catalog.
_READERS = ("catalog.py", "deadlines.py")


def fingerprint(directory: Path = CATALOG_DIR, seeds_dir: Path | None = None) -> str:
    """A digest of every catalog file and seed letter (names and bytes), and of the code that reads them."""
    digest = hashlib.sha256()
    seeds = seeds_dir or directory / "seeds"
    code = [Path(__file__).with_name(name) for name in _READERS]
    for path in sorted([*directory.glob("*.yaml"), *seeds.glob("*.txt"), *code]):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
