"""The laptop's duplicate-face check: one face must not be enrolled under two ID numbers.

Before a record with a face template is queued, its template is compared with every live record
on this laptop that has one (``Store.face_templates``), through ``capture.dedup.TemplateIndex``
(exact, NumPy). A distance at or under the threshold is a *likely duplicate*: the desktop asks the
cadre to decide (``decided_by="cadre"``), a bulk import records it for central review
(``decision="unreviewed"``, ``decided_by="bulk_import"``). Both end up in the payload's
``duplicate_review``, so the decision travels with the record.

The threshold is configurable: the store's meta key ``face_duplicate_threshold`` (a string such as
"0.55"), else ``capture.faces.DEFAULT_THRESHOLD``. Templates made by another model (name or version)
cannot be compared and are skipped; so is a stored template that does not decode.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from capture.dedup import TemplateIndex
from capture.errors import CaptureError
from capture.faces import DEFAULT_THRESHOLD, FaceTemplate
from enrollment.records import DECIDED_BY, DUPLICATE_DECISIONS, UNREVIEWED, format_distance

log = logging.getLogger(__name__)

THRESHOLD_META = "face_duplicate_threshold"


@dataclass(frozen=True)
class LocalMatch:
    """A record on this laptop whose face is within the threshold of the new one."""

    record_id: str
    id_number: str
    name: str
    distance: float

    def review(self, decision: str, reason: str, decided_by: str = "cadre") -> dict[str, Any]:
        """The payload's ``duplicate_review`` entry for this match."""
        if decision not in DUPLICATE_DECISIONS or decided_by not in DECIDED_BY:
            raise ValueError(f"decision {decision!r} by {decided_by!r}")
        return {"record_id": self.record_id, "distance": format_distance(self.distance), "decision": decision,
                "reason": reason.strip(), "decided_by": decided_by}

    def unreviewed(self) -> dict[str, Any]:
        """A bulk import's entry: nobody decided on the laptop, central staff review it."""
        return self.review(UNREVIEWED, "", "bulk_import")


def threshold_of(store: Any, explicit: float | None = None) -> float:
    if explicit is not None:
        return float(explicit)
    raw = store.get_meta(THRESHOLD_META)
    try:
        return float(raw) if raw is not None else DEFAULT_THRESHOLD
    except (TypeError, ValueError):
        log.warning("ignoring an unreadable %s in the store", THRESHOLD_META)
        return DEFAULT_THRESHOLD


class LocalFaces:
    """The templates enrolled on this laptop, indexed once; more can be added (rows of one import)."""

    def __init__(self, rows: Iterable[tuple[str, str, str, bytes]] = (), *, threshold: float = DEFAULT_THRESHOLD
                 ) -> None:
        self.threshold = float(threshold)
        self.index = TemplateIndex()
        self.people: dict[str, tuple[str, str]] = {}
        self.model: tuple[str, str] | None = None
        self._templates: dict[str, FaceTemplate] = {}
        for record_id, id_number, name, data in rows:
            try:
                template = FaceTemplate.from_bytes(data)
            except CaptureError:
                log.warning("skipping a stored face template that does not decode")
                continue
            self.add(record_id, id_number, name, template)

    @classmethod
    def from_store(cls, store: Any, *, exclude_record_id: str | None = None, threshold: float | None = None
                   ) -> LocalFaces:
        return cls(store.face_templates(exclude_record_id=exclude_record_id),
                   threshold=threshold_of(store, threshold))

    def add(self, record_id: str, id_number: str, name: str, template: FaceTemplate) -> None:
        self._templates[record_id] = template
        self.people[record_id] = (id_number, name)
        self.index.add(record_id, template)

    def __len__(self) -> int:
        return len(self.index)

    def matches(self, template: FaceTemplate, *, exclude: Iterable[str] = ()) -> list[LocalMatch]:
        """Likely duplicates of ``template``, nearest first (records of another face model are skipped)."""
        skip = set(exclude)
        out = []
        for record_id, distance in self.index.likely_duplicates(template, self.threshold):
            other = self._templates[record_id]
            if record_id in skip or not other.compatible_with(template):
                continue
            id_number, name = self.people[record_id]
            out.append(LocalMatch(str(record_id), id_number, name, distance))
        return out


def find_local_duplicates(store: Any, template: FaceTemplate | bytes, *, exclude_record_id: str | None = None,
                          threshold: float | None = None) -> list[LocalMatch]:
    """Every live record on this laptop whose face is within the threshold of ``template``, nearest first."""
    if isinstance(template, (bytes, bytearray, memoryview)):
        template = FaceTemplate.from_bytes(bytes(template))
    faces = LocalFaces.from_store(store, exclude_record_id=exclude_record_id, threshold=threshold)
    return faces.matches(template)
