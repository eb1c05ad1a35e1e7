"""The SMS outbox's sender and its cadre notices (issue 13, item 5).

- ``operators.phone``: a cadre's mobile number (``registry set-operator-phone``), where the notice of a
  bounced payment in their village goes (the resident is not told "your money did not arrive" by SMS;
  the cadre who can fix the card data is).
- ``sms_outbox.recipient``: ``resident`` or ``operator:<id>``. A bounced line has one row per cadre of the
  village, so the unique key becomes (payment line, kind, recipient): still exactly one message per
  payment line and person told.
- ``sms_outbox.claim``: the token of the sender that claimed the row (its lease ends at
  ``next_attempt_at``); a sender records a result only under its own claim.
- ``sms_outbox.receipt_at``: when the gateway's delivery report arrived.
- ``ix_sms_outbox_due``: (state, next_attempt_at), the senders' query.

SQLite changes a unique constraint by copying the table (batch mode, from the 0014 shape written out
here, so its CHECK constraint is copied too).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SMS_STATE = ("sms_to_send", "sms_sent", "sms_gave_up")


def _outbox_0014() -> sa.Table:
    """sms_outbox as migration 0014 made it (the copy's source on SQLite)."""
    return sa.Table(
        "sms_outbox", sa.MetaData(),
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
        sa.CheckConstraint(f"state IN ({', '.join(repr(v) for v in SMS_STATE)})",
                           name="ck_sms_outbox_state_vocabulary"),
        sa.Index("ix_sms_outbox_state", "state"),
    )


def upgrade() -> None:
    op.add_column("operators", sa.Column("phone", sa.String(20), nullable=True))
    with op.batch_alter_table("sms_outbox", copy_from=_outbox_0014()) as batch:
        batch.add_column(sa.Column("recipient", sa.String(32), nullable=False, server_default="resident"))
        batch.add_column(sa.Column("claim", sa.String(32), nullable=True))
        batch.add_column(sa.Column("receipt_at", sa.String(32), nullable=True))
        batch.drop_constraint("uq_sms_outbox_line_kind", type_="unique")
        batch.create_unique_constraint("uq_sms_outbox_line_kind_recipient", ["payment_line_id", "kind", "recipient"])
    op.create_index("ix_sms_outbox_due", "sms_outbox", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_outbox_due", "sms_outbox")
    with op.batch_alter_table("sms_outbox") as batch:
        batch.drop_constraint("uq_sms_outbox_line_kind_recipient", type_="unique")
        batch.drop_column("receipt_at")
        batch.drop_column("claim")
        batch.drop_column("recipient")
        batch.create_unique_constraint("uq_sms_outbox_line_kind", ["payment_line_id", "kind"])
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("phone")
