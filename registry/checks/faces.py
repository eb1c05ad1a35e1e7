"""Face checks: 1:N against every enrolled face (``face_match``) and 1:1 against the population
registry's reference photo (``reference_photo``); and the import of those reference photos.

``RegistryFaceIndex`` keeps the face template of every current, non-deleted record in memory
(``capture.dedup.TemplateIndex``: exact float32 search, the same distances as a full scan). It is
loaded once from the database and then kept up to date by the check runner, which calls
``upsert_records`` with each batch before the checks run (so two records of one batch find each
other). The checks only read.

A template is the ``face_template`` attachment of the record's current version: a blob made of
``blob_chunks`` rows, parsed with ``capture.faces.FaceTemplate.from_bytes``. A template that cannot
be parsed, or was made by another model, is left out of the index (logged by record id).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, insert, select, update

from capture.dedup import TemplateIndex
from capture.errors import E_FACE_MULTIPLE, E_FACE_NONE, CaptureError
from capture.faces import MODEL_NAME, MODEL_VERSION, FaceEngine, FaceTemplate, face_distance
from enrollment.records import FACE_TEMPLATE
from enrollment.roster_csv import CsvFileError, RowError
from sync.protocol import BLOB_CHUNK

from ..db import now_iso
from ..schema import blob_chunks, blobs, record_attachments, records, reference_templates
from . import (
    FACE_MATCH,
    INTERCEPT,
    REFERENCE_PHOTO,
    CheckContext,
    CheckRecord,
    CheckResult,
    Finding,
    RuleCount,
)

log = logging.getLogger("registry.checks")

# These checks count their comparisons under their kind's name.
FACE_MATCH_RULE = FACE_MATCH.value
REFERENCE_PHOTO_RULE = REFERENCE_PHOTO.value

# Row errors of the reference_photos dataset (besides datasets.PHOTO_MISSING for a missing file)
PHOTO_NO_FACE = "dataset.photo_no_face"
PHOTO_MANY_FACES = "dataset.photo_many_faces"
PHOTO_UNREADABLE = "dataset.photo_unreadable"
PHOTO_ID_REPEATED = "dataset.photo_id_repeated"   # two photos for one ID number: which is the reference?
ROWS_INVALID = "dataset.rows_invalid"

_LOAD_BATCH = 50_000


def _fmt(value: float) -> str:
    return f"{value:.4f}"


def _blob_bytes(conn: Connection, shas: Iterable[str]) -> dict[str, bytes]:
    """The bytes of the given complete blobs (chunks joined in offset order)."""
    wanted = sorted(set(shas))
    parts: dict[str, list[bytes]] = {}
    for start in range(0, len(wanted), 500):
        q = (select(blob_chunks.c.sha256, blob_chunks.c.data)
             .join(blobs, blobs.c.sha256 == blob_chunks.c.sha256)
             .where(blob_chunks.c.sha256.in_(wanted[start:start + 500]), blobs.c.complete.is_(True))
             .order_by(blob_chunks.c.sha256, blob_chunks.c.offset))
        for sha, data in conn.execute(q):
            parts.setdefault(sha, []).append(bytes(data))
    return {sha: b"".join(chunks) for sha, chunks in parts.items()}


def _parse_template(data: bytes, record_id: str) -> FaceTemplate | None:
    try:
        template = FaceTemplate.from_bytes(data)
    except CaptureError:
        log.warning("record %s: face template unreadable, left out of the face index", record_id)
        return None
    if (template.model, template.version) != (MODEL_NAME, MODEL_VERSION):
        log.warning("record %s: face template of another model, left out of the face index", record_id)
        return None
    return template


def record_templates(conn: Connection, batch: Sequence[CheckRecord]) -> dict[str, FaceTemplate]:
    """record_id -> the template of that version, for the records of ``batch`` that have one."""
    shas = {r.record_id: r.attachment(FACE_TEMPLATE) for r in batch if not r.deleted}
    shas = {rid: sha for rid, sha in shas.items() if sha}
    data = _blob_bytes(conn, shas.values())
    out: dict[str, FaceTemplate] = {}
    for rid, sha in shas.items():
        if sha in data:
            template = _parse_template(data[sha], rid)
            if template is not None:
                out[rid] = template
    return out


class RegistryFaceIndex:
    """Every current non-deleted record's face template, searchable exactly; thread-safe."""

    def __init__(self, *, fast_from: int | None = None) -> None:
        self._index = TemplateIndex() if fast_from is None else TemplateIndex(fast_from=fast_from)
        self._id_numbers: dict[str, str] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, record_id: str) -> bool:
        return record_id in self._index

    @classmethod
    def load(cls, source: Engine | Connection, *, fit: bool = True) -> RegistryFaceIndex:
        """The index of every current, non-deleted record whose current version has a face template.

        ``fit``: rotate onto the templates' principal axes afterwards (makes the search faster)."""
        index = cls()
        if isinstance(source, Engine):
            with source.connect() as conn, conn.begin():
                index._load(conn)
        else:
            index._load(source)
        if fit:
            index.fit()
        log.info("face index loaded: %d templates", len(index))
        return index

    def _load(self, conn: Connection) -> None:
        q = (select(records.c.record_id, records.c.id_number, blob_chunks.c.data)
             .join(record_attachments, (record_attachments.c.record_id == records.c.record_id)
                   & (record_attachments.c.version == records.c.version)
                   & (record_attachments.c.kind == FACE_TEMPLATE))
             .join(blobs, (blobs.c.sha256 == record_attachments.c.sha256) & blobs.c.complete.is_(True))
             .join(blob_chunks, blob_chunks.c.sha256 == blobs.c.sha256)
             .where(records.c.deleted.is_(False))
             .order_by(records.c.record_id, blob_chunks.c.offset))
        keys: list[str] = []
        vectors: list[np.ndarray] = []
        current: tuple[str, str] | None = None
        parts: list[bytes] = []

        def finish() -> None:
            if current is None:
                return
            template = _parse_template(b"".join(parts), current[0])
            if template is not None:
                keys.append(current[0])
                vectors.append(template.vector)
                self._id_numbers[current[0]] = current[1]
            if len(keys) >= _LOAD_BATCH:
                flush()

        def flush() -> None:
            if keys:
                self._index.add_many(list(keys), np.stack(vectors))
                keys.clear()
                vectors.clear()

        for record_id, id_number, data in conn.execute(q.execution_options(yield_per=10_000)):
            if current is None or current[0] != record_id:
                finish()
                current, parts = (record_id, id_number), []
            parts.append(bytes(data))
        finish()
        flush()

    def fit(self) -> None:
        """Re-fit the search's rotation to the templates now held (only when asked: it scans them all)."""
        with self._lock:
            self._index.fit_rotation()

    def upsert(self, record_id: str, id_number: str, vector: np.ndarray | FaceTemplate) -> None:
        with self._lock:
            self._index.add(record_id, vector)
            self._id_numbers[record_id] = id_number

    def remove(self, record_id: str) -> None:
        """Forget the record's template (nothing happens when it has none)."""
        with self._lock:
            if record_id in self._index:
                self._index.remove(record_id)
            self._id_numbers.pop(record_id, None)

    def upsert_records(self, conn: Connection, batch: Sequence[CheckRecord]) -> dict[str, FaceTemplate]:
        """Bring the index up to date with these record versions (the runner calls it before the
        checks): a template is added or replaced, a deleted record or one without a template is
        removed. Returns record_id -> template for those that have one."""
        templates = record_templates(conn, batch)
        with self._lock:
            for rec in batch:
                template = templates.get(rec.record_id)
                if template is None:
                    self.remove(rec.record_id)
                else:
                    self.upsert(rec.record_id, rec.id_number, template)
        return templates

    def id_number(self, record_id: str) -> str | None:
        return self._id_numbers.get(record_id)

    def search(self, vector: np.ndarray | FaceTemplate, radius: float, *, exclude_record: str | None = None
               ) -> list[tuple[str, str, float]]:
        """(record_id, id_number, distance) of every template within ``radius``, nearest first
        (ties by record id)."""
        return self.query(vector, radius, exclude_record=exclude_record)[0]

    def search_many(self, vectors: Sequence[np.ndarray | FaceTemplate], radius: float, *,
                    exclude_records: Sequence[str | None] | None = None) -> list[list[tuple[str, str, float]]]:
        """``search`` for many probes in one pass over the index (the same results)."""
        excludes = [(r,) if r is not None else () for r in (exclude_records or [None] * len(vectors))]
        with self._lock:
            found = self._index.search_many(vectors, radius, exclude=excludes)
            out = [[(str(rid), self._id_numbers[rid], d) for rid, d in hits] for hits in found]
        for hits in out:
            hits.sort(key=lambda t: (t[2], t[0]))
        return out

    def nearest(self, vector: np.ndarray | FaceTemplate, k: int, *, exclude_record: str | None = None
                ) -> list[tuple[str, str, float]]:
        """The ``k`` nearest (record_id, id_number, distance), nearest first (ties by record id)."""
        return self.query(vector, -1.0, k=k, exclude_record=exclude_record)[1]

    def query(self, vector: np.ndarray | FaceTemplate, radius: float, *, k: int = 0,
              exclude_record: str | None = None) -> tuple[list[tuple[str, str, float]], list[tuple[str, str, float]]]:
        """(within radius, k nearest) from one pass over the index."""
        exclude = (exclude_record,) if exclude_record is not None else ()
        with self._lock:
            # One more than asked: ties at the k-th distance are then ordered by record id below.
            result = self._index.search(vector, radius, k=k + 1 if k > 0 else 0, exclude=exclude)
            within = [(str(rid), self._id_numbers[rid], d) for rid, d in result.within]
            near = [(str(rid), self._id_numbers[rid], d) for rid, d in result.nearest]
        within.sort(key=lambda t: (t[2], t[0]))
        near.sort(key=lambda t: (t[2], t[0]))
        return within, near[:k] if k > 0 else []


# ---------------------------------------------------------------------------------------------
# the checks

def _index_of(ctx: CheckContext) -> RegistryFaceIndex:
    if ctx.face_index is None:
        # No index from the runner: build one from this transaction (correct, but a full load).
        ctx.face_index = RegistryFaceIndex.load(ctx.conn, fit=False)
    return ctx.face_index


def _villages(conn: Connection, record_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(record_ids))
    out: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        out.update(conn.execute(select(records.c.record_id, records.c.village_code)
                                .where(records.c.record_id.in_(ids[start:start + 500]))).all())
    return out


def face_match(ctx: CheckContext, batch: list[CheckRecord]) -> CheckResult:
    """The same face under another ID number: one FACE_MATCH (intercept) per other record within
    ``face_radius``; evidence: the ``face_top_k`` nearest other records and the radius."""
    result = CheckResult()
    count = RuleCount(rule_id=FACE_MATCH_RULE, kind=FACE_MATCH)
    result.counts.append(count)
    index = _index_of(ctx)
    templates = record_templates(ctx.conn, batch)
    radius, top_k = ctx.config.face_radius, ctx.config.face_top_k
    probing = [rec for rec in batch if rec.record_id in templates]
    count.compared = len(probing)
    hits = index.search_many([templates[r.record_id] for r in probing], radius,
                             exclude_records=[r.record_id for r in probing])
    searched: list[tuple[CheckRecord, list[tuple[str, str, float]], list[tuple[str, str, float]]]] = []
    for rec, within in zip(probing, hits, strict=True):
        others = [hit for hit in within if hit[1] != rec.id_number]
        if others:
            count.intercepted += 1
            near = index.nearest(templates[rec.record_id], top_k, exclude_record=rec.record_id)
            searched.append((rec, others, near))
    if not searched:
        return result
    villages = _villages(ctx.conn, {rid for _, others, near in searched for rid, _, _ in (*others, *near)})
    for rec, others, near in searched:
        evidence = {
            "radius": _fmt(radius),
            "template_sha256": rec.attachment(FACE_TEMPLATE),
            "candidates": [{"record_id": rid, "id_number": number, "village_code": villages.get(rid, ""),
                            "distance": _fmt(d), "same_id_number": number == rec.id_number}
                           for rid, number, d in near],
            "matches": len(others),
        }
        for rid, _number, d in others:
            result.add(rec.record_id, Finding(kind=FACE_MATCH, severity=INTERCEPT, evidence=evidence,
                                              subject=rid, score=_fmt(d)))
    return result


def reference_photo(ctx: CheckContext, batch: list[CheckRecord]) -> CheckResult:
    """The face against the population registry's photo for that ID number: REFERENCE_PHOTO
    (intercept) when the distance exceeds ``reference_threshold``."""
    result = CheckResult()
    count = RuleCount(rule_id=REFERENCE_PHOTO_RULE, kind=REFERENCE_PHOTO)
    result.counts.append(count)
    with_face = [r for r in batch if not r.deleted and r.attachment(FACE_TEMPLATE)]
    numbers = sorted({r.id_number for r in with_face})
    refs: dict[str, Any] = {}
    for start in range(0, len(numbers), 500):
        for row in ctx.conn.execute(select(reference_templates)
                                    .where(reference_templates.c.id_number.in_(numbers[start:start + 500]))):
            refs[row.id_number] = row
    wanted = [r for r in with_face if r.id_number in refs]
    if not wanted:
        return result
    templates = record_templates(ctx.conn, wanted)
    threshold = ctx.config.reference_threshold
    for rec in wanted:
        template = templates.get(rec.record_id)
        ref = refs[rec.id_number]
        try:
            reference = FaceTemplate.from_bytes(bytes(ref.template))
        except CaptureError:
            log.warning("reference template for record %s unreadable: not compared", rec.record_id)
            continue
        if template is None:
            continue
        count.compared += 1
        distance = face_distance(template, reference)
        if distance > threshold:
            count.intercepted += 1
            result.add(rec.record_id, Finding(
                kind=REFERENCE_PHOTO, severity=INTERCEPT, subject=ref.photo_sha256, score=_fmt(distance),
                evidence={"distance": _fmt(distance), "threshold": _fmt(threshold),
                          "reference_photo_sha256": ref.photo_sha256,
                          "template_sha256": rec.attachment(FACE_TEMPLATE)}))
    return result


# ---------------------------------------------------------------------------------------------
# reference photos (dataset kind "reference_photos")

@dataclass(frozen=True)
class ReferencePhoto:
    id_number: str
    photo: bytes
    sha256: str
    template: FaceTemplate


_ENGINE: FaceEngine | None = None
_ENGINE_LOCK = threading.Lock()


def _default_engine() -> FaceEngine:
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = FaceEngine()
        return _ENGINE.load()


def prepare_reference_photos(rows: Sequence[dict[str, str]], base_dir: str | Path, *,
                             lines: Sequence[int] | None = None, engine: FaceEngine | None = None
                             ) -> list[ReferencePhoto]:
    """Read each row's photo (relative to ``base_dir``), require exactly one face, make its template.

    Every bad row is reported (``lines[i]``, else ``i + 2``: the header is line 1) in one
    CsvFileError(dataset.rows_invalid); nothing is returned then, so nothing is imported."""
    from capture.images import load_image
    from capture.pipeline import template_of

    engine = engine or _default_engine()
    base = Path(base_dir)
    out: list[ReferencePhoto] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for i, row in enumerate(rows):
        line = lines[i] if lines is not None else i + 2
        if row["id_number"] in first_line:
            errors.append(RowError(line, PHOTO_ID_REPEATED, "id_number", {"first_line": first_line[row["id_number"]]}))
            continue
        first_line[row["id_number"]] = line
        path = base / row["photo"]
        try:
            data = path.read_bytes()
            template = template_of(load_image(data), engine)
        except CaptureError as e:
            code = {E_FACE_NONE: PHOTO_NO_FACE, E_FACE_MULTIPLE: PHOTO_MANY_FACES}.get(e.code, PHOTO_UNREADABLE)
            data_ = {"faces": e.data["faces"]} if "faces" in e.data else {}
            if code == PHOTO_UNREADABLE:
                data_ = {"reason": e.code}
            errors.append(RowError(line, code, "photo", data_))
            continue
        except OSError:
            errors.append(RowError(line, PHOTO_UNREADABLE, "photo", {"reason": "unreadable file"}))
            continue
        out.append(ReferencePhoto(row["id_number"], data, hashlib.sha256(data).hexdigest(), template))
    if errors:
        raise CsvFileError(ROWS_INVALID, errors, count=len(errors))
    return out


def store_blob(conn: Connection, data: bytes, *, now: str) -> str:
    """Store ``data`` as a complete blob (as a finished upload would be); returns its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    row = conn.execute(select(blobs.c.complete).where(blobs.c.sha256 == sha).with_for_update()).first()
    if row is not None and row.complete:
        return sha
    if row is not None:   # a half-finished upload of the same bytes: replace it by the whole
        conn.execute(delete(blob_chunks).where(blob_chunks.c.sha256 == sha))
        conn.execute(update(blobs).where(blobs.c.sha256 == sha).values(
            size=len(data), received=len(data), complete=True, completed_at=now))
    else:
        conn.execute(insert(blobs).values(sha256=sha, size=len(data), received=len(data), complete=True,
                                          created_at=now, completed_at=now))
    chunks = [{"sha256": sha, "offset": off, "data": data[off:off + BLOB_CHUNK]}
              for off in range(0, len(data), BLOB_CHUNK)]
    if chunks:
        conn.execute(insert(blob_chunks), chunks)
    return sha


def store_reference_photos(conn: Connection, photos: Sequence[ReferencePhoto], import_id: int) -> None:
    """Inside the import's transaction: each photo as a complete blob, and ``reference_templates``
    replaced by these photos' templates."""
    now = now_iso()
    conn.execute(delete(reference_templates))
    rows = []
    for p in photos:
        store_blob(conn, p.photo, now=now)
        rows.append({"id_number": p.id_number, "photo_sha256": p.sha256, "template": p.template.to_bytes(),
                     "import_id": import_id})
    for start in range(0, len(rows), 1000):
        conn.execute(insert(reference_templates), rows[start:start + 1000])
