"""Two finding kinds, not_on_roster and roster_other_village (issue 10): the guard on findings.kind
is replaced (PostgreSQL: the CHECK constraint dropped and added again; SQLite: the triggers dropped
and created again). The SQL is frozen here as registry.schema.vocabulary_guard_sql() generated it on
the day; records.state's guard is unchanged and left alone.

Downgrading puts 0006's guard back, which fails while a finding of a new kind is stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Every guard as the vocabulary generates it today (tests/registry/test_vocabulary_guards.py compares).
GUARDS = {
    "postgresql": [
        "ALTER TABLE records ADD CONSTRAINT ck_records_state CHECK (state IN ('received', 'checked', 'needs_review', 'cleared', 'approved', 'rejected', 'returned'))",
        "ALTER TABLE findings ADD CONSTRAINT ck_findings_kind CHECK (kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule', 'not_on_roster', 'roster_other_village'))",
    ],
    "sqlite": [
        "CREATE TRIGGER ck_records_state_insert BEFORE INSERT ON records WHEN NOT (NEW.state IN ('received', 'checked', 'needs_review', 'cleared', 'approved', 'rejected', 'returned')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_records_state'); END",
        "CREATE TRIGGER ck_records_state_update BEFORE UPDATE OF state ON records WHEN NOT (NEW.state IN ('received', 'checked', 'needs_review', 'cleared', 'approved', 'rejected', 'returned')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_records_state'); END",
        "CREATE TRIGGER ck_findings_kind_insert BEFORE INSERT ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule', 'not_on_roster', 'roster_other_village')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
        "CREATE TRIGGER ck_findings_kind_update BEFORE UPDATE OF kind ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule', 'not_on_roster', 'roster_other_village')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
    ],
}

# 0006's guard on findings.kind, for downgrade.
PREVIOUS = {
    "postgresql": [
        "ALTER TABLE findings ADD CONSTRAINT ck_findings_kind CHECK (kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule'))",
    ],
    "sqlite": [
        "CREATE TRIGGER ck_findings_kind_insert BEFORE INSERT ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
        "CREATE TRIGGER ck_findings_kind_update BEFORE UPDATE OF kind ON findings WHEN NOT (NEW.kind IN ('same_id', 'demographic', 'face_match', 'reference_photo', 'dataset_rule')) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_findings_kind'); END",
    ],
}

DROP = {
    "postgresql": ["ALTER TABLE findings DROP CONSTRAINT IF EXISTS ck_findings_kind"],
    "sqlite": [f"DROP TRIGGER IF EXISTS ck_findings_kind_{event}" for event in ("insert", "update")],
}


def _findings_guard(statements: list[str]) -> list[str]:
    return [s for s in statements if "ck_findings_kind" in s]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in DROP[dialect] + _findings_guard(GUARDS[dialect]):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in DROP[dialect] + PREVIOUS[dialect]:
        op.execute(statement)
