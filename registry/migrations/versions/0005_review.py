"""Review pipeline (issue 4): review columns on records, findings, per-rule counts, check runs,
reference-photo templates.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("state_at", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("review_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.String(32), nullable=True))
        batch.add_column(sa.Column("checked_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("card_issued_at", sa.String(32), nullable=True))
    # A record's state began when its newest version arrived (all are "received" before 0005).
    op.execute("UPDATE records SET state_at = updated_at")
    op.create_index("ix_records_state", "records", ["state"])

    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False, server_default=""),
        sa.Column("subject", sa.String(100), nullable=False, server_default=""),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("score", sa.String(16), nullable=True),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("resolved_at", sa.String(32), nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint("record_id", "version", "kind", "rule", "subject", name="uq_findings_key"),
    )
    op.create_index("ix_findings_record_id", "findings", ["record_id"])
    op.create_index("ix_findings_status_kind", "findings", ["status", "kind"])

    op.create_table(
        "rule_stats",
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("department", sa.String(32), nullable=False, server_default=""),
        sa.Column("dataset", sa.String(32), nullable=False, server_default=""),
        sa.Column("compared", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("intercepted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("flagged", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_rule_stats")),
    )

    op.create_table(
        "check_runs",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.String(32), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("records_checked", sa.Integer, nullable=False, server_default="0"),
        sa.Column("findings_opened", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cancelled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_runs")),
    )

    op.create_table(
        "reference_templates",
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("photo_sha256", sa.String(64), nullable=False),
        sa.Column("template", sa.LargeBinary, nullable=False),
        sa.Column("import_id", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["dataset_imports.id"],
                                name=op.f("fk_reference_templates_import_id_dataset_imports")),
        sa.PrimaryKeyConstraint("id_number", name=op.f("pk_reference_templates")),
    )


def downgrade() -> None:
    op.drop_table("reference_templates")
    op.drop_table("check_runs")
    op.drop_table("rule_stats")
    op.drop_index("ix_findings_status_kind", table_name="findings")
    op.drop_index("ix_findings_record_id", table_name="findings")
    op.drop_table("findings")
    op.drop_index("ix_records_state", table_name="records")
    with op.batch_alter_table("records") as batch:
        for col in ("card_issued_at", "checked_version", "decided_at", "decided_by", "review_reason", "state_at"):
            batch.drop_column(col)
