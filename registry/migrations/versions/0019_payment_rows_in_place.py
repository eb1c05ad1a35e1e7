"""Settling a bank return file rewrites each paid line's rows in place (issue 13: a 100,000-line return
file in ≤ 10 s, missed on PostgreSQL at 14 s).

PostgreSQL writes an updated row as a new version; it skips the new entries in every index (a HOT update)
only when no indexed column changed and the row's page has room. Both failed for the two rows a credited
line changes:

- ``payment_lines.state`` (at_bank → credited) sat in the predicate of the two partial unique indexes that
  make a second open payment impossible. The predicate now reads ``is_open``, a column the database computes
  from the state (true while a line is at the bank or credited): at_bank → credited leaves its value as it
  is, and PostgreSQL decides by the values. Computed, it cannot disagree with the state, so the guarantee is
  the same as before.
- ``entitlements.state`` (in_batch → paid_out) was the last column of ``ix_entitlements_item_period_state``.
  The index is now (item, period): a batch's query still finds an item and period's lines by it and reads
  their state from the rows.
- Both tables keep half of each new page free (``fillfactor`` 50, PostgreSQL only) for those versions: a
  line is rewritten once at the bank's answer, a roster line at the batch and again at the answer. That is
  about twice the disk for these two tables, for about half the time of the import.

SQLite has no HOT updates but also maintains only the indexes whose columns change, so it gains too. Its
``is_open`` is a virtual column (what ALTER TABLE can add there); PostgreSQL's is stored.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

OPEN_BEFORE = "state IN ('at_bank', 'credited')"
UNIQUE_OPEN = (("uq_payment_lines_open_entitlement", "entitlement_id"), ("uq_payment_lines_open_pay_key", "pay_key"))
FILLFACTOR = 50


def _unique_open(predicate: str) -> None:
    for name, column in UNIQUE_OPEN:
        op.create_index(name, "payment_lines", [column], unique=True,
                        sqlite_where=sa.text(predicate), postgresql_where=sa.text(predicate))


def _fillfactor(value: int | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("payment_lines", "entitlements"):
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {value})" if value else
                   f"ALTER TABLE {table} RESET (fillfactor)")


def upgrade() -> None:
    for name, _column in UNIQUE_OPEN:
        op.drop_index(name, table_name="payment_lines")
    # Stored on PostgreSQL (an index needs it there); virtual on SQLite (all ALTER TABLE can add there).
    stored = op.get_bind().dialect.name == "postgresql"
    op.add_column("payment_lines", sa.Column("is_open", sa.Boolean, sa.Computed(OPEN_BEFORE, persisted=stored or None)))
    _unique_open("is_open")
    op.drop_index("ix_entitlements_item_period_state", table_name="entitlements")
    op.create_index("ix_entitlements_item_period", "entitlements", ["item", "period"])
    _fillfactor(FILLFACTOR)


def downgrade() -> None:
    _fillfactor(None)
    op.drop_index("ix_entitlements_item_period", table_name="entitlements")
    op.create_index("ix_entitlements_item_period_state", "entitlements", ["item", "period", "state"])
    for name, _column in UNIQUE_OPEN:
        op.drop_index(name, table_name="payment_lines")
    op.drop_column("payment_lines", "is_open")
    _unique_open(OPEN_BEFORE)
