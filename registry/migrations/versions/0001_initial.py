"""First schema: operators, villages, tokens, roster, records with versions and conflicts, blobs, counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.CheckConstraint("role IN ('cadre', 'central', 'admin')", name=op.f("ck_operators_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("username", name=op.f("uq_operators_username")),
    )
    op.create_table(
        "villages",
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_villages")),
    )
    op.create_table(
        "operator_villages",
        sa.Column("operator_id", sa.Integer, nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], ondelete="CASCADE",
                                name=op.f("fk_operator_villages_operator_id_operators")),
        sa.ForeignKeyConstraint(["village_code"], ["villages.code"],
                                name=op.f("fk_operator_villages_village_code_villages")),
        sa.PrimaryKeyConstraint("operator_id", "village_code", name=op.f("pk_operator_villages")),
    )
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.Integer, nullable=False),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], ondelete="CASCADE",
                                name=op.f("fk_tokens_operator_id_operators")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_tokens")),
    )
    op.create_index(op.f("ix_tokens_operator_id"), "tokens", ["operator_id"])
    op.create_table(
        "residents",
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("sex", sa.String(2), nullable=False),
        sa.Column("birth_date", sa.String(10), nullable=False),
        sa.Column("household_id", sa.String(40), nullable=False),
        sa.Column("relation", sa.String(10), nullable=False),
        sa.Column("address", sa.String(200), nullable=False, server_default=""),
        sa.Column("phone", sa.String(20), nullable=False, server_default=""),
        sa.Column("counter", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["village_code"], ["villages.code"],
                                name=op.f("fk_residents_village_code_villages")),
        sa.PrimaryKeyConstraint("id_number", name=op.f("pk_residents")),
    )
    op.create_index(op.f("ix_residents_village_code"), "residents", ["village_code"])
    op.create_index(op.f("ix_residents_counter"), "residents", ["counter"])
    op.create_table(
        "records",
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, server_default="received"),
        sa.Column("counter", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_records")),
    )
    op.create_index(op.f("ix_records_village_code"), "records", ["village_code"])
    op.create_index(op.f("ix_records_id_number"), "records", ["id_number"])
    op.create_index(op.f("ix_records_counter"), "records", ["counter"])
    op.create_table(
        "record_versions",
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("counter", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.record_id"],
                                name=op.f("fk_record_versions_record_id_records")),
        sa.PrimaryKeyConstraint("record_id", "version", name=op.f("pk_record_versions")),
    )
    op.create_index("ix_record_versions_record_hash", "record_versions", ["record_id", "content_hash"])
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("server_version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts")),
        sa.UniqueConstraint("record_id", "base_version", "content_hash", name="uq_conflicts_attempt"),
    )
    op.create_index(op.f("ix_conflicts_record_id"), "conflicts", ["record_id"])
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("received", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("complete", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("completed_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    op.create_table(
        "blob_chunks",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(["sha256"], ["blobs.sha256"], ondelete="CASCADE",
                                name=op.f("fk_blob_chunks_sha256_blobs")),
        sa.PrimaryKeyConstraint("sha256", "offset", name=op.f("pk_blob_chunks")),
    )
    counter = op.create_table(
        "server_counter",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_counter")),
    )
    op.bulk_insert(counter, [{"id": 1, "value": 0}])


def downgrade() -> None:
    for table in ("server_counter", "blob_chunks", "blobs", "conflicts", "record_versions", "records",
                  "residents", "tokens", "operator_villages", "villages", "operators"):
        op.drop_table(table)
