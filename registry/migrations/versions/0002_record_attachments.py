"""Which record versions name which blobs, so a cadre may read only their own villages' attachments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "record_attachments",
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.record_id"],
                                name=op.f("fk_record_attachments_record_id_records")),
        sa.PrimaryKeyConstraint("record_id", "version", "kind", "sha256", name=op.f("pk_record_attachments")),
    )
    op.create_index("ix_record_attachments_sha256", "record_attachments", ["sha256"])
    # Backfill from the versions already received.
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT record_id, version, payload FROM record_versions WHERE payload IS NOT NULL"))
    values = [
        {"record_id": r.record_id, "version": r.version, "kind": a["kind"], "sha256": a["sha256"]}
        for r in rows for a in (json.loads(r.payload).get("attachments") or [])
    ]
    if values:
        op.bulk_insert(table, values)


def downgrade() -> None:
    op.drop_index("ix_record_attachments_sha256", table_name="record_attachments")
    op.drop_table("record_attachments")
