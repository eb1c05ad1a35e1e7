"""Payments to the one card (issue 13): cards, department payment rosters (entitlements) and what
stopped their lines, batches and their payment lines, the bank's return files, the SMS outbox.

Money is integer fen. The database itself refuses a second open or credited payment line for one
entitlement, or for one person, item and period across departments (partial unique indexes, on SQLite
and PostgreSQL alike), a batch authorised by its creator, and any state outside the vocabulary (CHECK
constraints: these are new tables, so SQLite takes them at creation; the values are frozen here).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# enrollment.vocabulary on the day (frozen: a migration does not follow the code).
CARD_STATUS = ("made", "active", "lost", "cancelled")
ENTITLEMENT_STATE = ("ready", "intercepted", "refused", "not_paid", "in_batch", "paid_out", "pay_failed")
BATCH_STATE = ("built", "authorised", "exported", "settled")
LINE_STATE = ("at_bank", "credited", "bounced", "reversed")
SMS_STATE = ("sms_to_send", "sms_sent", "sms_gave_up")
OPEN_LINE = "state IN ('at_bank', 'credited')"


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=f"{column}_vocabulary")


def upgrade() -> None:
    op.create_table(
        "card_imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
    )
    op.create_index("ix_card_imports_sha256", "card_imports", ["sha256"])
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("card_number", sa.String(32), nullable=False, unique=True),
        sa.Column("bank_account", sa.String(40), nullable=False),
        sa.Column("bank", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_date", sa.String(10), nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("card_imports.id"), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        _one_of("status", CARD_STATUS),
    )
    op.create_index("ix_cards_id_number", "cards", ["id_number"])
    op.create_table(
        "entitlement_imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
    )
    op.create_index("ix_entitlement_imports_sha256", "entitlement_imports", ["sha256"])
    op.create_table(
        "entitlements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("entitlement_imports.id"), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("item", sa.String(32), nullable=False),
        sa.Column("period", sa.String(6), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("village_code", sa.String(12), nullable=True),
        sa.Column("card_id", sa.Integer, sa.ForeignKey("cards.id"), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("refusal", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.String(32), nullable=True),
        sa.CheckConstraint("amount_fen >= 0", name="amount_fen_not_negative"),
        _one_of("state", ENTITLEMENT_STATE),
    )
    op.create_index("ix_entitlements_import_id", "entitlements", ["import_id"])
    op.create_index("ix_entitlements_id_number", "entitlements", ["id_number"])
    op.create_index("ix_entitlements_village_code", "entitlements", ["village_code"])
    op.create_index("ix_entitlements_item_period_state", "entitlements", ["item", "period", "state"])
    op.create_index("ix_entitlements_id_number_item_period", "entitlements", ["id_number", "item", "period"])
    op.create_table(
        "payment_findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entitlement_id", sa.Integer, sa.ForeignKey("entitlements.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False, server_default=""),
        sa.Column("subject", sa.String(100), nullable=False, server_default=""),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("resolved_at", sa.String(32), nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.UniqueConstraint("entitlement_id", "kind", "rule", "subject", name="uq_payment_findings_key"),
    )
    op.create_index("ix_payment_findings_entitlement_id", "payment_findings", ["entitlement_id"])
    op.create_table(
        "payment_batches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("item", sa.String(32), nullable=False),
        sa.Column("period", sa.String(6), nullable=False),
        sa.Column("township", sa.String(9), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("authorised_by", sa.String(64), nullable=True),
        sa.Column("authorised_at", sa.String(32), nullable=True),
        sa.Column("export_sha256", sa.String(64), nullable=True),
        sa.Column("exported_at", sa.String(32), nullable=True),
        sa.Column("settled_at", sa.String(32), nullable=True),
        sa.CheckConstraint("authorised_by IS NULL OR authorised_by <> created_by", name="four_eyes"),
        _one_of("state", BATCH_STATE),
    )
    op.create_index("ix_payment_batches_state", "payment_batches", ["state"])
    op.create_table(
        "result_imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("credited", sa.Integer, nullable=False),
        sa.Column("bounced", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
    )
    op.create_table(
        "payment_lines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(32), nullable=False, unique=True),
        sa.Column("batch_id", sa.String(36), sa.ForeignKey("payment_batches.id"), nullable=False),
        sa.Column("entitlement_id", sa.Integer, sa.ForeignKey("entitlements.id"), nullable=False),
        sa.Column("pay_key", sa.String(64), nullable=False),
        sa.Column("card_id", sa.Integer, sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=True),
        sa.Column("bank_reason", sa.String(200), nullable=True),
        sa.Column("result_import_id", sa.Integer, sa.ForeignKey("result_imports.id"), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("settled_at", sa.String(32), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name="amount_fen_positive"),
        _one_of("state", LINE_STATE),
    )
    op.create_index("ix_payment_lines_batch_id", "payment_lines", ["batch_id"])
    op.create_index("ix_payment_lines_entitlement_id", "payment_lines", ["entitlement_id"])
    for name, column in (("uq_payment_lines_open_entitlement", "entitlement_id"),
                         ("uq_payment_lines_open_pay_key", "pay_key")):
        op.create_index(name, "payment_lines", [column], unique=True,
                        sqlite_where=sa.text(OPEN_LINE), postgresql_where=sa.text(OPEN_LINE))
    op.create_table(
        "result_errors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("result_imports.id"), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(64), nullable=False, server_default=""),
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_result_errors_import_id", "result_errors", ["import_id"])
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("payment_line_id", sa.Integer, sa.ForeignKey("payment_lines.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.String(32), nullable=True),
        sa.Column("gateway", sa.String(32), nullable=True),
        sa.Column("gateway_ref", sa.String(100), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("receipt", sa.String(32), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.String(32), nullable=True),
        sa.UniqueConstraint("payment_line_id", "kind", name="uq_sms_outbox_line_kind"),
        _one_of("state", SMS_STATE),
    )
    op.create_index("ix_sms_outbox_state", "sms_outbox", ["state"])


def downgrade() -> None:
    for table in ("sms_outbox", "result_errors", "payment_lines", "result_imports", "payment_batches",
                  "payment_findings", "entitlements", "entitlement_imports", "cards", "card_imports"):
        op.drop_table(table)
