"""Events as CONTRACT.md defines them: stable ids, which real-world event a matched document belongs to, and
the event JSON. Pure: the pipeline gives the facts (the commitment's stage so far, the events it already
has) and stores what comes out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from matchers.stages import Stage, keeps
from sources.base import Document

STAGE_EVENT = "commitment.stage"
DOCUMENT_EVENT = "commitment.document"
OVERDUE_EVENT = "commitment.overdue"

# The kinds that open a bill in the Kamer: together they are one `ingediend` event (CONTRACT.md "One
# submission, one event"), and a confident text match on one of them links its dossier to the commitment.
_OPENING = ("koninklijke boodschap", "voorstel van wet", "voorstel van rijkswet", "memorie van toelichting",
            "advies afdeling advisering raad van state", "advies raad van state")


def is_opening_document(doc: Document) -> bool:
    """Whether `doc` is one of the documents that open a bill in the Kamer."""
    kind = doc.kind.casefold()
    return doc.entity != "Besluit" and any(kind.startswith(k) for k in _OPENING) and "gewijzigd" not in kind


def event_id(*parts: str) -> str:
    """A stable id from what identifies the real-world event, so the same event keeps its id across polls,
    restarts and re-emissions."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"evt_{digest[:24]}"


@dataclass(frozen=True, slots=True)
class EventKey:
    """Which real-world event a matched document belongs to."""

    id: str
    type: str
    stage: Stage | None


def document_identity(doc: Document) -> str:
    """One identity for the TK document and the KOOP record of the same Kamerstuk: the `kst-…` id when
    there is one, else the source key."""
    return doc.kst or doc.key


def effective_stage(doc: Document, stage: Stage | None) -> Stage | None:
    """The stage a matched document shows for its commitment. The Raad van State advice published as a
    Kamerstuk (with its nader rapport) comes with the bill: it is part of the submission, `ingediend`. Only
    an advice published on its own (the Staatscourant) is an `advies_rvs` event."""
    if stage is Stage.ADVIES_RVS and doc.entity in ("Document", "Kamerstuk"):
        return Stage.INGEDIEND
    return stage


def advances(stage: Stage, reached: Stage | None) -> bool:
    """Whether reaching `stage` is news for a commitment that had reached `reached` (forward only)."""
    return not keeps(reached, stage)


def event_key(slug: str, doc: Document, stage: Stage | None, reached: Stage | None) -> EventKey:
    """The event a document matched to `slug` belongs to. `stage` is its effective stage (see
    `effective_stage`), `reached` the furthest stage the commitment had before this document.

    - The documents that open a bill are one `ingediend` event per dossier.
    - A stage the commitment has already reached is forward-only: the document is a `commitment.document`.
    - A vote is one event per zaak (or dossier) and outcome; a letter one per document; any other stage one
      per dossier.
    """
    if stage is None or not advances(stage, reached):
        return EventKey(event_id(slug, DOCUMENT_EVENT, document_identity(doc)), DOCUMENT_EVENT, None)
    dossier = doc.dossier or ""
    if stage in (Stage.AANGENOMEN_TK, Stage.VERWORPEN_TK, Stage.AANGENOMEN_EK, Stage.VERWORPEN_EK):
        anchor = doc.zaak or dossier or document_identity(doc)
    elif stage is Stage.BRIEF:
        anchor = document_identity(doc)
    else:
        anchor = dossier or document_identity(doc)
    return EventKey(event_id(slug, STAGE_EVENT, stage.value, anchor), STAGE_EVENT, stage)


def document_json(doc: Document) -> dict[str, Any]:
    """A document entry of the event JSON."""
    return {
        "source": doc.source, "id": doc.id, "kst": doc.kst, "title": doc.title, "type": doc.kind,
        "dossier": doc.dossier, "url": doc.url, "date": doc.date.isoformat() if doc.date else None,
    }


def event_json(
    *, id: str, type: str, slug: str, title: str, stage: Stage | None, documents: list[dict[str, Any]],
    reason: str, detected_at: dt.datetime, extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The event JSON of CONTRACT.md ("Events")."""
    payload: dict[str, Any] = {
        "id": id, "type": type, "commitment": {"slug": slug, "title": title},
        "stage": stage.value if stage else None, "documents": documents, "reason": reason,
        "detected_at": detected_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if extra:
        payload.update(extra)
    return payload
