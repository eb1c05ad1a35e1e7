"""Remote verification (issue 11): verification_requests, verification_attempts, verification_frames,
two finding kinds (verification_failed, verification_manual) and a guard on verification_requests.state.

The guard on findings.kind is replaced (as in 0007) and verification_requests.state gets one
from enrollment.vocabulary.VerificationState; records.state's guard is unchanged. The SQL is frozen
here as registry.schema.vocabulary_guard_sql() generated it on the day.

Downgrading drops the new tables and puts 0007's guard back, which fails while a finding of a new kind
is stored.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Every guard as the vocabulary generates it today (tests/registry/test_vocabulary_guards.py compares).
GUARDS = {
    "postgresql": [
        "ALTER TABLE records ADD CONSTRAINT ck_records_state CHECK (state IN ('received', 'checked', 'needs_review', 'cleared', 'approved', 'rejected', 'returned'))",
        "ALTER TABLE findings ADD CONSTRAINT ck_findings_kind CHECK (kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule', 'not_on_roster', 'roster_other_village', 'verification_failed', 'verification_manual'))",
        "ALTER TABLE verification_requests ADD CONSTRAINT ck_verification_requests_state CHECK (state IN ('sent', 'opened', 'passed', 'failed', 'expired', 'manual'))",
    ],
    "sqlite": [
        "CREATE TRIGGER ck_records_state_insert BEFORE INSERT ON records WHEN NOT (NEW.state IN ('received', 'checked', 'needs_review', 'cleared', 'approved', 'rejected', 'returned')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_records_state'); END",
        "CREATE TRIGGER ck_records_state_update BEFORE UPDATE OF state ON records WHEN NOT (NEW.state IN ('received', 'checked', 'needs_review', 'cleared', 'approved', 'rejected', 'returned')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_records_state'); END",
        "CREATE TRIGGER ck_findings_kind_insert BEFORE INSERT ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule', 'not_on_roster', 'roster_other_village', 'verification_failed', 'verification_manual')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
        "CREATE TRIGGER ck_findings_kind_update BEFORE UPDATE OF kind ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule', 'not_on_roster', 'roster_other_village', 'verification_failed', 'verification_manual')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
        "CREATE TRIGGER ck_verification_requests_state_insert BEFORE INSERT ON verification_requests WHEN NOT (NEW.state IN ('sent', 'opened', 'passed', 'failed', 'expired', 'manual')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_verification_requests_state'); END",
        "CREATE TRIGGER ck_verification_requests_state_update BEFORE UPDATE OF state ON verification_requests WHEN NOT (NEW.state IN ('sent', 'opened', 'passed', 'failed', 'expired', 'manual')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_verification_requests_state'); END",
    ],
}

# 0007's guard on findings.kind, for downgrade.
PREVIOUS = {
    "postgresql": [
        "ALTER TABLE findings ADD CONSTRAINT ck_findings_kind CHECK (kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule', 'not_on_roster', 'roster_other_village'))",
    ],
    "sqlite": [
        "CREATE TRIGGER ck_findings_kind_insert BEFORE INSERT ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule', 'not_on_roster', 'roster_other_village')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
        "CREATE TRIGGER ck_findings_kind_update BEFORE UPDATE OF kind ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule', 'not_on_roster', 'roster_other_village')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
    ],
}

DROP_FINDINGS_GUARD = {
    "postgresql": ["ALTER TABLE findings DROP CONSTRAINT IF EXISTS ck_findings_kind"],
    "sqlite": [f"DROP TRIGGER IF EXISTS ck_findings_kind_{event}" for event in ("insert", "update")],
}


def _new_guards(statements: list[str]) -> list[str]:
    return [s for s in statements if "ck_findings_kind" in s or "ck_verification_requests_state" in s]


def upgrade() -> None:
    op.create_table(
        "verification_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=True),
        sa.Column("city", sa.String(100), server_default="", nullable=False),
        sa.Column("method", sa.String(16), server_default="live", nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts_max", sa.Integer, nullable=False),
        sa.Column("attempts_used", sa.Integer, server_default="0", nullable=False),
        sa.Column("counter", sa.BigInteger, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("opened_at", sa.String(32), nullable=True),
        sa.Column("session_hash", sa.String(64), nullable=True),
        sa.Column("session_expires_at", sa.String(32), nullable=True),
        sa.Column("consent_version", sa.String(32), nullable=True),
        sa.Column("consent_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_requests")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_verification_requests_token_hash")),
    )
    for column in ("id_number", "village_code", "state", "counter"):
        op.create_index(f"ix_verification_requests_{column}", "verification_requests", [column])
    op.create_table(
        "verification_attempts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decision", sa.Text, nullable=True),
        sa.Column("finished_at", sa.String(32), nullable=True),
        sa.Column("client_hash", sa.String(64), server_default="", nullable=False),
        sa.Column("frames_received", sa.Integer, server_default="0", nullable=False),
        sa.Column("bytes_received", sa.Integer, server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["verification_requests.id"],
                                name=op.f("fk_verification_attempts_request_id_verification_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_attempts")),
    )
    op.create_index("ix_verification_attempts_request_id", "verification_attempts", ["request_id"])
    op.create_table(
        "verification_frames",
        sa.Column("attempt_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("t_ms", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=True),
        sa.Column("evidence", sa.Boolean, server_default="0", nullable=False),
        sa.Column("purged_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["attempt_id"], ["verification_attempts.id"],
                                name=op.f("fk_verification_frames_attempt_id_verification_attempts")),
        sa.PrimaryKeyConstraint("attempt_id", "seq", name=op.f("pk_verification_frames")),
    )
    op.create_index("ix_verification_frames_sha256", "verification_frames", ["sha256"])
    dialect = op.get_bind().dialect.name
    for statement in DROP_FINDINGS_GUARD[dialect] + _new_guards(GUARDS[dialect]):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in DROP_FINDINGS_GUARD[dialect] + PREVIOUS[dialect]:
        op.execute(statement)
    op.drop_table("verification_frames")
    op.drop_table("verification_attempts")
    op.drop_table("verification_requests")
