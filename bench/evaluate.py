"""Measured matching quality: precision and recall of the matcher on the labelled evaluation set.

`python -m bench.evaluate` (`make eval`) loads the real catalog and every part of `tests/data/eval/`, feeds each
part's documents in publication order the way `bot/pipeline.py` does, and prints for each part precision and
recall per stage, per class of document (`bench.evalset.CLASSES`) and overall, then every false positive and every
miss by name. Three parts:

- **tune**: the folders `tune-*`, written (by others, before the matcher was changed) for two thirds of the
  commitments of the set; the matcher may be tuned on them.
- **heldout**: the folders `heldout-*`, for the other third, split by commitment. Nobody tuning the matcher reads
  them; their figures are the ones to trust. `--part tune` (or `--no-heldout-details`) keeps their documents off
  the screen while tuning.
- **legacy**: the 246 documents the first matcher was written against (`bench.eval_legacy`).

What counts, per document: the set of (commitment, stage) pairs of the events its *confident* matches make, the
stage `None` for a `commitment.document` event. For tune and heldout the events follow CONTRACT.md as
`bot/pipeline.py` makes them: the TK document and the KOOP record of one Kamerstuk are one event, the opening
documents of a bill are one `ingediend` event, and a stage the commitment already reached through another event
is forward only (a document event). The legacy labels predate that and give the stage a document shows. Doubtful
matches go to maintainers, not to subscribers: they are listed, not counted. As in the pipeline, an unchanged
re-emission is not matched again, a document already evidence of a commitment makes no second event for it, and
a confident text match on an opening document teaches its dossier for the documents after it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import eval_legacy, evalset
from matchers.catalog import Catalog, load_catalog
from matchers.engine import Match, match_document
from matchers.events import STAGE_EVENT, effective_stage, event_key, is_opening_document
from matchers.stages import RANK, Stage
from sources.base import Document
from sources.sru import wanted

Pair = tuple[str, Stage | None]
PARTS = ("tune", "heldout", "legacy")

# The floors the suite asserts, per part (tests/matchers/test_eval.py), just under what the matcher measures, so
# that a change that makes it worse fails. Before the evidence matcher, on the same parts: tune 0.748/0.478,
# held out 0.733/0.583 (legacy 1.000/1.000, the set it was written against).
FLOORS: dict[str, tuple[float, float]] = {
    "tune": (0.97, 0.82),
    "heldout": (0.85, 0.65),
    "legacy": (0.98, 0.97),
}


# --------------------------------------------------------------------------------------------- outcomes


@dataclass
class Outcome:
    key: str  # the label key (document key, #n for a repeat)
    doc: Document | None  # None: the source drops it (a Gemeenteblad record)
    cls: str
    expected: frozenset[Pair]
    predicted: frozenset[Pair]
    doubtful: tuple[Match, ...]
    matches: tuple[Match, ...]
    reason: str
    folder: str = ""
    skipped: bool = False


def _counts(outcomes: Iterable[Outcome], keep: Callable[[Pair], bool] | None = None) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for o in outcomes:
        for pair in o.predicted:
            if keep is not None and not keep(pair):
                continue
            if pair in o.expected:
                tp += 1
            else:
                fp += 1
        for pair in o.expected - o.predicted:
            if keep is None or keep(pair):
                fn += 1
    return tp, fp, fn


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


@dataclass
class Report:
    part: str
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> tuple[int, int, int]:
        return _counts(self.outcomes)

    @property
    def precision(self) -> float:
        tp, fp, _ = self.counts()
        return _ratio(tp, tp + fp)

    @property
    def recall(self) -> float:
        tp, _, fn = self.counts()
        return _ratio(tp, tp + fn)

    def per_stage(self) -> dict[str, tuple[int, int, int]]:
        names = sorted({_stage_name(p[1]) for o in self.outcomes for p in o.expected | o.predicted})
        return {name: _counts(self.outcomes, lambda p, n=name: _stage_name(p[1]) == n) for name in names}

    def per_class(self) -> dict[str, tuple[int, int, int, int]]:
        """class -> (documents, tp, fp, fn)."""
        out: dict[str, tuple[int, int, int, int]] = {}
        for cls in sorted({o.cls for o in self.outcomes}):
            chosen = [o for o in self.outcomes if o.cls == cls]
            tp, fp, fn = _counts(chosen)
            out[cls] = (len(chosen), tp, fp, fn)
        return out

    def slug_level(self) -> tuple[float, float]:
        tp = fp = fn = 0
        for o in self.outcomes:
            got = {s for s, _ in o.predicted}
            want = {s for s, _ in o.expected}
            tp += len(got & want)
            fp += len(got - want)
            fn += len(want - got)
        return _ratio(tp, tp + fp), _ratio(tp, tp + fn)

    @property
    def false_positives(self) -> list[tuple[Outcome, Pair]]:
        return [(o, p) for o in self.outcomes for p in sorted(o.predicted - o.expected, key=_pair_key)]

    @property
    def misses(self) -> list[tuple[Outcome, Pair]]:
        return [(o, p) for o in self.outcomes for p in sorted(o.expected - o.predicted, key=_pair_key)]

    @property
    def ok(self) -> bool:
        floor_p, floor_r = FLOORS[self.part]
        return self.precision >= floor_p and self.recall >= floor_r


def _stage_name(stage: Stage | None) -> str:
    return stage.value if stage is not None else "document"


def _pair_key(pair: Pair) -> tuple[str, str]:
    return pair[0], _stage_name(pair[1])


def _material(doc: Document) -> str:
    # The fields bot/pipeline.py hashes to decide whether a document changed (`modified` is left out there too).
    payload = [doc.kind, doc.title, doc.entity, doc.kst, doc.dossier, doc.ondernummer, doc.zaak, doc.chamber,
               doc.date, doc.url, doc.deleted, sorted(doc.extra.items())]
    return hashlib.sha256(json.dumps(payload, default=str).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------- the stream


@dataclass
class _Event:
    type: str
    stage: Stage | None


class _Ledger:
    """The events of one stream as `bot/pipeline.py` makes them (`Pipeline._evidence_and_event`): a KOOP twin
    joins the event of its TK document (same kst), an opening document joins its dossier's submission, anything
    else gets `event_key`, with the stage forward only against what the commitment reached."""

    def __init__(self) -> None:
        self.events: dict[str, _Event] = {}
        self.by_kst: dict[tuple[str, str], str] = {}
        self.reached: dict[str, Stage] = {}

    def add(self, slug: str, doc: Document, stage: Stage | None) -> Pair:
        eid = self.by_kst.get((slug, doc.kst)) if doc.kst else None
        if eid is None and stage is Stage.INGEDIEND and is_opening_document(doc):
            submission = event_key(slug, doc, stage, None).id
            if submission in self.events:
                eid = submission
        if eid is None:
            key = event_key(slug, doc, stage, self.reached.get(slug))
            eid = key.id
            if eid not in self.events:
                self.events[eid] = _Event(key.type, key.stage)
        event = self.events[eid]
        if doc.kst:
            self.by_kst.setdefault((slug, doc.kst), eid)
        if event.type == STAGE_EVENT and event.stage is not None:
            current = self.reached.get(slug)
            if current is None or RANK[event.stage] >= RANK[current]:
                self.reached[slug] = event.stage
        return slug, event.stage if event.type == STAGE_EVENT else None


def evaluate_stream(catalog: Catalog, items: Sequence[tuple[str, str, str, frozenset[Pair], Document | None]],
                    *, part: str, folder: str = "", forward_only: bool = True) -> list[Outcome]:
    """Run the matcher over one stream of (label key, class, reason, expected, document), in order."""
    links: dict[str, frozenset[str]] = {}
    twins: dict[str, dict[str, Stage | None]] = {}
    evidenced: set[tuple[str, str]] = set()
    last_hash: dict[str, str] = {}
    ledger = _Ledger()
    out: list[Outcome] = []
    for key, cls, reason, expected, doc in items:
        if doc is None:
            out.append(Outcome(key, None, cls, expected, frozenset(), (), (), reason, folder))
            continue
        digest = _material(doc)
        if last_hash.get(doc.key) == digest:
            out.append(Outcome(key, doc, cls, expected, frozenset(), (), (), reason, folder, skipped=True))
            continue
        last_hash[doc.key] = digest
        matches = tuple(match_document(doc, catalog, links, {}, frozenset(), twins if forward_only else None)
                        ) if not doc.deleted else ()
        for m in matches:
            if m.confident and m.learn_dossier:
                links[m.learn_dossier] = links.get(m.learn_dossier, frozenset()) | {m.slug}
        fresh = [m for m in matches if (m.slug, doc.key) not in evidenced]
        predicted: set[Pair] = set()
        for m in fresh:
            if not m.confident:
                continue
            stage = effective_stage(doc, m.stage)
            predicted.add(ledger.add(m.slug, doc, stage) if forward_only else (m.slug, stage))
            if doc.kst:
                twins.setdefault(doc.kst, {}).setdefault(m.slug, stage)
        doubtful = tuple(m for m in fresh if not m.confident)
        evidenced.update((m.slug, doc.key) for m in matches)  # doubtful ones too: the pipeline keeps their evidence
        out.append(Outcome(key, doc, cls, expected, frozenset(predicted), doubtful, matches, reason, folder))
    return out


def evaluate_part(catalog: Catalog, folder: evalset.Part) -> list[Outcome]:
    stream = [(item.label, item.cls, item.reason, item.expect, doc) for item, doc in evalset.documents(folder)]
    return evaluate_stream(catalog, stream, part=folder.part, folder=folder.name)


def evaluate_legacy(catalog: Catalog, directory: Path = eval_legacy.LEGACY_DIR) -> list[Outcome]:
    labels = eval_legacy.load_labels(directory)
    documents = eval_legacy.load_documents(directory)
    missing = [key for key, _ in documents if key not in labels]
    if missing:
        raise ValueError(f"legacy labels.yaml has no label for {', '.join(missing[:5])}")
    stream: list[tuple[str, str, str, frozenset[Pair], Document | None]] = []
    for key, doc in documents:
        label = labels[key]
        cls = "legacy" if label.expect else "neg-legacy"
        # A KOOP record the SRU source drops (Handelingen, a Gemeenteblad item, a Staatscourant notice that is no
        # RvS advice) never reaches the matcher in the product; the new parts are read the same way.
        seen = doc if doc.source != "ob" or wanted(doc) else None
        stream.append((key, cls, label.reason, label.expect, seen))
    return evaluate_stream(catalog, stream, part="legacy", folder="legacy", forward_only=False)


def evaluate(catalog: Catalog, parts: Iterable[str] = PARTS, root: Path = evalset.EVAL_ROOT) -> dict[str, Report]:
    """A report per part."""
    wanted = list(parts)
    reports = {p: Report(p) for p in wanted}
    for folder in evalset.parts(root, catalog, [p for p in wanted if p != "legacy"]):
        if folder.part in reports and folder.part != "legacy":
            reports[folder.part].outcomes.extend(evaluate_part(catalog, folder))
    if "legacy" in reports:
        reports["legacy"].outcomes.extend(evaluate_legacy(catalog, root / "legacy"))
    return reports


# --------------------------------------------------------------------------------------------- printing


def _describe(doc: Document | None) -> str:
    if doc is None:
        return "(dropped by the source)"
    subject = doc.extra.get("onderwerp") or doc.extra.get("documenttitel") or ""
    title = doc.title if len(doc.title) <= 110 else doc.title[:107] + "..."
    kind = f"{doc.kind} / " if doc.kind else ""
    return f"[{kind}{subject}] {title}" if subject and subject != doc.kind else f"[{doc.kind}] {title}"


def format_report(report: Report, catalog: Catalog, *, details: bool = True) -> str:
    lines: list[str] = []
    outcomes = report.outcomes
    n_pos = sum(1 for o in outcomes if o.expected)
    slugs = {s for o in outcomes for s, _ in o.expected}
    folders = sorted({o.folder for o in outcomes})
    lines.append(f"== part {report.part} ({', '.join(folders)}): {len(outcomes)} documents, {n_pos} with expected "
                 f"events ({len(slugs)} commitments), {len(outcomes) - n_pos} negatives; catalog of "
                 f"{len(catalog)} commitments")
    lines.append("")
    lines.append(f"{'stage':<22}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>9}")
    for name, (tp, fp, fn) in report.per_stage().items():
        lines.append(f"{name:<22}{tp:>5}{fp:>5}{fn:>5}{_ratio(tp, tp + fp):>11.3f}{_ratio(tp, tp + fn):>9.3f}")
    tp, fp, fn = report.counts()
    lines.append(f"{'overall':<22}{tp:>5}{fp:>5}{fn:>5}{report.precision:>11.3f}{report.recall:>9.3f}")
    sp, sr = report.slug_level()
    lines.append(f"{'(commitment only)':<22}{'':>15}{sp:>11.3f}{sr:>9.3f}")
    lines.append("")
    lines.append(f"{'class':<22}{'docs':>5}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>9}")
    for cls, (docs, tp, fp, fn) in report.per_class().items():
        lines.append(f"{cls:<22}{docs:>5}{tp:>5}{fp:>5}{fn:>5}{_ratio(tp, tp + fp):>11.3f}{_ratio(tp, tp + fn):>9.3f}")
    floor_p, floor_r = FLOORS[report.part]
    lines.append("")
    lines.append(f"floors: precision >= {floor_p}, recall >= {floor_r}: {'met' if report.ok else 'NOT MET'}")
    fps, misses = report.false_positives, report.misses
    doubtful = [(o, m) for o in outcomes for m in o.doubtful]
    if not details:
        lines.append(f"({len(fps)} false positives, {len(misses)} misses, {len(doubtful)} doubtful: details hidden)")
        return "\n".join(lines)
    lines.append("")
    lines.append(f"false positives ({len(fps)}):")
    for o, (slug, stage) in fps:
        why = next((m.reason for m in o.matches if m.slug == slug), "")
        lines.append(f"  {o.folder}/{o.key}  -> {slug} / {_stage_name(stage)}")
        lines.append(f"      {_describe(o.doc)}")
        lines.append(f"      matcher: {why}")
        lines.append(f"      label:   {sorted(_pair_key(p) for p in o.expected)} {o.reason}")
    lines.append(f"misses ({len(misses)}):")
    for o, (slug, stage) in misses:
        got = ", ".join(f"{m.slug}/{_stage_name(m.stage)}{'' if m.confident else ' (doubtful)'}" for m in o.matches)
        lines.append(f"  {o.folder}/{o.key}  expected {slug} / {_stage_name(stage)}; matcher gave: {got or 'nothing'}")
        lines.append(f"      {_describe(o.doc)}")
        lines.append(f"      label: {o.reason}")
    lines.append(f"doubtful matches sent to maintainers, not counted ({len(doubtful)}):")
    for o, m in doubtful:
        verdict = "expected" if any(s == m.slug for s, _ in o.expected) else "not expected"
        lines.append(f"  {o.folder}/{o.key}  {m.slug} ({verdict}): {m.reason}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the evaluation; exit 1 when a floor is not met."""
    parser = argparse.ArgumentParser(prog="python -m bench.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", action="append", choices=PARTS, help="only these parts (default: all)")
    parser.add_argument("--no-heldout-details", action="store_true",
                        help="print the held-out figures without naming its documents (while tuning)")
    args = parser.parse_args(argv)
    catalog = load_catalog()
    reports = evaluate(catalog, args.part or PARTS)
    blocks = [format_report(r, catalog, details=not (r.part == "heldout" and args.no_heldout_details))
              for r in reports.values()]
    print("\n\n".join(blocks))
    return 0 if all(r.ok for r in reports.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

