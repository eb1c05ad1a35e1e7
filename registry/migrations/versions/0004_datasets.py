"""Department dataset files: the rows of each kind's newest import, and the history of imports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_imports",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_imports")),
    )
    op.create_table(
        "dataset_rows",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("row", sa.Text, nullable=False),
        sa.Column("import_id", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["dataset_imports.id"],
                                name=op.f("fk_dataset_rows_import_id_dataset_imports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_rows")),
    )
    op.create_index("ix_dataset_rows_kind_id_number", "dataset_rows", ["kind", "id_number"])


def downgrade() -> None:
    op.drop_index("ix_dataset_rows_kind_id_number", table_name="dataset_rows")
    op.drop_table("dataset_rows")
    op.drop_table("dataset_imports")
