"""The descriptor a verification matches against: the population registry's reference photo
(``reference_templates``, imported as the ``reference_photos`` dataset) when there is one, else the
face template of the resident's enrolled record (as ``registry.checks.faces`` reads it)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from capture.faces import MODEL_NAME, MODEL_VERSION, FaceTemplate

from ..checks.faces import _blob_bytes
from ..schema import record_attachments, records, reference_templates

FACE_TEMPLATE = "face_template"


def _parse(data: bytes | None) -> np.ndarray | None:
    if not data:
        return None
    try:
        template = FaceTemplate.from_bytes(bytes(data))
    except Exception:  # noqa: BLE001 - an unreadable template is no reference
        return None
    if (template.model, template.version) != (MODEL_NAME, MODEL_VERSION):
        return None
    return template.vector


def descriptor(conn: Connection, request: Any) -> tuple[np.ndarray | None, str | None]:
    """(128-d descriptor or None, where it came from: ``reference_template`` | ``enrolled_template`` | None)."""
    ref = conn.execute(select(reference_templates.c.template)
                       .where(reference_templates.c.id_number == request.id_number)).scalar()
    vector = _parse(ref)
    if vector is not None:
        return vector, "reference_template"
    q = select(records.c.record_id, records.c.version).where(records.c.deleted.is_(False))
    q = (q.where(records.c.record_id == request.record_id) if request.record_id is not None
         else q.where(records.c.id_number == request.id_number, records.c.village_code == request.village_code))
    record = conn.execute(q.order_by(records.c.updated_at.desc()).limit(1)).first()
    if record is None:
        return None, None
    sha = conn.execute(select(record_attachments.c.sha256).where(
        record_attachments.c.record_id == record.record_id, record_attachments.c.version == record.version,
        record_attachments.c.kind == FACE_TEMPLATE)).scalar()
    if sha is None:
        return None, None
    vector = _parse(_blob_bytes(conn, [sha]).get(sha))
    return (vector, "enrolled_template") if vector is not None else (None, None)
