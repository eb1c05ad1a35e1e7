"""Audit texts: free text an audit entry refers to by hash, kept outside the chain so it can be redacted.

Entries written before this revision keep their reasons and file names inside the chain's data
as they were: rewriting them would change their hashes and break the chain from the first one
on, which is exactly what the chain exists to show. They stay as they are (README, "Security").

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_texts",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("salt", sa.String(32), nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("redacted_at", sa.String(32), nullable=True),
        sa.Column("redacted_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_audit_texts")),
    )


def downgrade() -> None:
    op.drop_table("audit_texts")
