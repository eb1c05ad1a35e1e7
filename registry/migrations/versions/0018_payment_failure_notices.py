"""A failed payment reaches its village's laptops (issue 13: "failed payments notify the cadre's laptop
instead of the resident"): ``entitlements.notice_counter`` is a pull counter taken whenever a line that
has failed at the bank changes (bounced, reversed, sent again, paid on the retry), so the village's
laptops pull it as a ``payment_failure`` change (protocol v6). Null for a line that never failed: those
never leave the registry.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entitlements", sa.Column("notice_counter", sa.BigInteger, nullable=True))
    # Partial: the lines that never failed (nearly all) stay out of it, so paying them touches no entry here.
    op.create_index(op.f("ix_entitlements_notice_counter"), "entitlements", ["notice_counter"],
                    sqlite_where=sa.text("notice_counter IS NOT NULL"),
                    postgresql_where=sa.text("notice_counter IS NOT NULL"))


def downgrade() -> None:
    op.drop_index(op.f("ix_entitlements_notice_counter"), table_name="entitlements")
    with op.batch_alter_table("entitlements") as batch:
        batch.drop_column("notice_counter")
