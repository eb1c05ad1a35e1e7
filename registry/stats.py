"""Counts for ``yikatong registry stats``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from .schema import blob_uploads, blobs, conflicts, operators, record_versions, records, residents, villages
from .service import count


def collect(engine: Engine) -> dict[str, Any]:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        by_role = {r: 0 for r in ("cadre", "central", "admin")}
        for role, n in conn.execute(select(operators.c.role, func.count()).group_by(operators.c.role)):
            by_role[role] = n
        by_state = dict(conn.execute(select(records.c.state, func.count())
                                     .where(records.c.deleted.is_(False)).group_by(records.c.state)).all())
        blob_bytes = conn.execute(select(func.coalesce(func.sum(blobs.c.size), 0))
                                  .where(blobs.c.complete.is_(True))).scalar_one()
        # Uploads in progress, every uploader's own (registry.blobs).
        partial_bytes = conn.execute(select(func.coalesce(func.sum(blob_uploads.c.received), 0))).scalar_one()
        return {
            "residents": count(conn, residents),
            "villages": count(conn, villages),
            "operators": {"total": sum(by_role.values()), **by_role},
            "records": {
                "total": count(conn, records),
                "live": count(conn, records, records.c.deleted.is_(False)),
                "tombstones": count(conn, records, records.c.deleted.is_(True)),
                "by_state": by_state,
            },
            "versions": count(conn, record_versions),
            "conflicts": count(conn, conflicts),
            "blobs": {
                "complete": count(conn, blobs, blobs.c.complete.is_(True)),
                "partial": count(conn, blob_uploads),
                "bytes": int(blob_bytes),
                "partial_bytes": int(partial_bytes),
            },
        }
