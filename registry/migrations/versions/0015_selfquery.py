"""The residents' self-query page (issue 13, item 6): one row per SMS code asked for.

A row is written for every request, whether or not the ID number and card tail named someone (then
``id_number`` and ``code_hash`` are NULL and no code can ever match), so the answer to the request and
to every code tried against it is the same for a known and an unknown person. The code itself is never
stored: ``code_hash`` is HMAC-SHA256 keyed by the ticket, which only the page holds (``ticket_hash`` is
its SHA-256), so a copy of the table does not give the codes away.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "selfquery_codes",
        sa.Column("ticket_hash", sa.String(64), primary_key=True),
        sa.Column("id_number", sa.String(18), nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("wrong_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("used_at", sa.String(32), nullable=True),
        sa.CheckConstraint("wrong_count >= 0", name="wrong_count_not_negative"),
    )
    op.create_index("ix_selfquery_codes_expires_at", "selfquery_codes", ["expires_at"])


def downgrade() -> None:
    op.drop_table("selfquery_codes")
