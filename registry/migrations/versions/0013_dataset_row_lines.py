"""``dataset_rows.line``: the line of the imported department file a row came from (the sheet's row for
XLSX), so a finding's evidence names the line a reviewer looks up in the department's file; the row id
counts across imports (数据行编号：3 for a file with one data row). Rows imported before this revision
have no line (NULL) until their kind is imported again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dataset_rows", sa.Column("line", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset_rows") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("line")
