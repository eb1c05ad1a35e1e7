"""The database refuses a review state or a finding kind outside enrollment/vocabulary.py (issue 9).

PostgreSQL gets CHECK constraints; SQLite gets triggers, because adding a CHECK to an existing SQLite
table means copying it, and records is referenced by record_versions (with foreign keys on, dropping
the old copy would fail). The SQL is frozen here as registry.schema.vocabulary_guard_sql() generated
it on the day: a migration must not change when the vocabulary grows. A new state or kind needs a new
migration that replaces these guards; tests/registry/test_vocabulary_guards.py fails until it exists.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GUARDS = {
    "postgresql": [
        "ALTER TABLE records ADD CONSTRAINT ck_records_state CHECK (state IN ('received', 'checked', 'needs_review', 'cleared', 'approved', 'rejected', 'returned'))",
        "ALTER TABLE findings ADD CONSTRAINT ck_findings_kind CHECK (kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule'))",
    ],
    "sqlite": [
        "CREATE TRIGGER ck_records_state_insert BEFORE INSERT ON records WHEN NOT (NEW.state IN ('received', 'checked', 'needs_review', 'cleared', 'approved', 'rejected', 'returned')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_records_state'); END",
        "CREATE TRIGGER ck_records_state_update BEFORE UPDATE OF state ON records WHEN NOT (NEW.state IN ('received', 'checked', 'needs_review', 'cleared', 'approved', 'rejected', 'returned')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_records_state'); END",
        "CREATE TRIGGER ck_findings_kind_insert BEFORE INSERT ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
        "CREATE TRIGGER ck_findings_kind_update BEFORE UPDATE OF kind ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
    ],
}

DROP = {
    "postgresql": ["ALTER TABLE records DROP CONSTRAINT IF EXISTS ck_records_state",
                   "ALTER TABLE findings DROP CONSTRAINT IF EXISTS ck_findings_kind"],
    "sqlite": [f"DROP TRIGGER IF EXISTS ck_{name}_{event}" for name in ("records_state", "findings_kind")
               for event in ("insert", "update")],
}


def upgrade() -> None:
    for statement in GUARDS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP[op.get_bind().dialect.name]:
        op.execute(statement)
