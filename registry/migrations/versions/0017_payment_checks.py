"""Counters of the payment roster checks (issue 13): comparisons made and lines intercepted per rule or
check AND per paying department, cumulative over every roster imported — the seed's "comparisons and
interceptions by rule", which the enrollment checks' ``rule_stats`` (keyed by rule only, with the
dataset's department) cannot say per paying department.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_rule_stats",
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("compared", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("intercepted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "department", name=op.f("pk_payment_rule_stats")),
    )


def downgrade() -> None:
    op.drop_table("payment_rule_stats")
