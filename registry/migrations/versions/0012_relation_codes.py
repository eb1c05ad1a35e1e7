"""Relations as GB/T 4761-2008 codes (issue 12 item 2, protocol v5).

Before this revision a record's and a resident's ``relation`` was one of seven simplified values;
from now on it is the two-digit code of GB/T 4761-2008 家庭关系代码 (``enrollment.relations``).
Each stored payload (current records, every kept version, conflicts) with an old value gets the
code, 子女 by the record's own sex (男 → 20 子, else 30 女), and its content hash is recomputed
over the canonical bytes, in place: the version numbers, review states and findings stay. The
laptop store's schema version 7 rewrites its copies with the same table, so both ends hash the same
bytes. Residents get the code and a new pull counter, so laptops pull the new value.

The table is frozen here (a migration does not follow the data file); a test checks it against
``resources/relations/gbt4761.json``'s ``legacy_values``. Downgrade maps codes back to the seven
values as far as they go (a code with no old value becomes 其他); it is not lossless.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from enrollment.canonical import canonical_bytes, content_hash

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The seven pre-issue-12 values → GB/T 4761 code (子女 by sex).
LEGACY = {"户主": "02", "配偶": "10", "父母": "50", "孙子女": "40", "兄弟姐妹": "70", "其他": "80"}
CHILD = {"男": "20", "女": "30"}
BACK = {"01": "户主", "02": "户主", "10": "配偶", "11": "配偶", "12": "配偶", "20": "子女", "30": "子女",
        "40": "孙子女", "50": "父母", "70": "兄弟姐妹"}


def code_of(value: str, sex: str | None) -> str | None:
    if value == "子女":
        return CHILD["男"] if sex == "男" else CHILD["女"]
    return LEGACY.get(value)


def _back(code: str) -> str:
    if code in BACK:
        return BACK[code]
    return {"2": "子女", "3": "子女", "4": "孙子女", "5": "父母", "7": "兄弟姐妹"}.get(code[:1], "其他")


def _rewrite(conn: sa.Connection, table: sa.Table, key: list[sa.Column], convert) -> None:
    rows = conn.execute(sa.select(*key, table.c.payload).where(table.c.payload.is_not(None))).all()
    for row in rows:
        payload = json.loads(row.payload)
        relation = payload.get("relation")
        new = convert(relation, payload.get("sex")) if isinstance(relation, str) else None
        if new is None or new == relation:
            continue
        payload["relation"] = new
        conn.execute(sa.update(table).where(*[c == getattr(row, c.name) for c in key]).values(
            payload=canonical_bytes(payload).decode("utf-8"), content_hash=content_hash(payload)))


def _table(name: str, *keys: tuple[str, sa.types.TypeEngine]) -> sa.Table:
    return sa.table(name, *(sa.column(k, t) for k, t in keys), sa.column("payload", sa.Text),
                    sa.column("content_hash", sa.String))


def _apply(convert_payload, convert_resident) -> None:
    conn = op.get_bind()
    records = _table("records", ("record_id", sa.String))
    versions = _table("record_versions", ("record_id", sa.String), ("version", sa.Integer))
    conflicts = _table("conflicts", ("id", sa.Integer))
    _rewrite(conn, records, [records.c.record_id], convert_payload)
    _rewrite(conn, versions, [versions.c.record_id, versions.c.version], convert_payload)
    _rewrite(conn, conflicts, [conflicts.c.id], convert_payload)
    residents = sa.table("residents", sa.column("id_number", sa.String), sa.column("relation", sa.String),
                         sa.column("sex", sa.String), sa.column("counter", sa.BigInteger))
    counter = sa.table("server_counter", sa.column("id", sa.Integer), sa.column("value", sa.BigInteger))
    value = conn.execute(sa.select(counter.c.value).where(counter.c.id == 1)).scalar() or 0
    for row in conn.execute(sa.select(residents.c.id_number, residents.c.relation, residents.c.sex)
                            .order_by(residents.c.id_number)).all():
        new = convert_resident(row.relation, row.sex)
        if new is None or new == row.relation:
            continue
        value += 1
        conn.execute(sa.update(residents).where(residents.c.id_number == row.id_number)
                     .values(relation=new, counter=value))
    conn.execute(sa.update(counter).where(counter.c.id == 1).values(value=value))


def upgrade() -> None:
    _apply(code_of, code_of)


def downgrade() -> None:
    def back(value: str, _sex: str | None) -> str | None:
        return _back(value) if value.isdigit() else None
    _apply(back, back)
