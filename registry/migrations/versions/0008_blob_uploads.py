"""Blob uploads owned by their uploader (issue 10): ``blob_uploads`` and ``blob_upload_chunks`` keyed by
(sha256, operator, device), and ``blob_uploaders`` (who completed which blob). Partial uploads in
``blobs`` are dropped: the laptops still hold the bytes and upload them again at their next sync.
From here on every ``blobs`` row is complete.

Downgrading drops the new tables (partial uploads in progress are lost the same way).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM blob_chunks WHERE sha256 IN (SELECT sha256 FROM blobs WHERE complete = false)")
    op.execute("DELETE FROM blobs WHERE complete = false")
    op.create_table(
        "blob_uploads",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("received", sa.BigInteger, server_default="0", nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "operator", "device_id", name=op.f("pk_blob_uploads")),
    )
    op.create_index("ix_blob_uploads_updated_at", "blob_uploads", ["updated_at"])
    op.create_table(
        "blob_upload_chunks",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(["sha256", "operator", "device_id"],
                                ["blob_uploads.sha256", "blob_uploads.operator", "blob_uploads.device_id"],
                                ondelete="CASCADE", name="fk_blob_upload_chunks_upload"),
        sa.PrimaryKeyConstraint("sha256", "operator", "device_id", "offset", name=op.f("pk_blob_upload_chunks")),
    )
    op.create_table(
        "blob_uploaders",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("confirmed_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["sha256"], ["blobs.sha256"], ondelete="CASCADE",
                                name=op.f("fk_blob_uploaders_sha256_blobs")),
        sa.PrimaryKeyConstraint("sha256", "operator", name=op.f("pk_blob_uploaders")),
    )


def downgrade() -> None:
    op.drop_table("blob_uploaders")
    op.drop_table("blob_upload_chunks")
    op.drop_index("ix_blob_uploads_updated_at", table_name="blob_uploads")
    op.drop_table("blob_uploads")
