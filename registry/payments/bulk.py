"""Plain driver tuples for the million-line paths of a roster import (issue 13's 1,000,000-line target).

SQLAlchemy's per-row work (building ``Row`` objects, processing each parameter dict) cost more than the
statements themselves at that size; these two functions skip it and nothing else: the statements are still
built with SQLAlchemy, the values still go as bound parameters (never as SQL text) when they come from a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table

CHUNK = 5000


def plain_batches(conn: Connection, query: Any) -> Iterator[list[tuple[Any, ...]]]:
    """The query's rows as lists of plain tuples from the driver's own cursor, CHUNK at a time. The query's
    values must be the caller's own or validated to a fixed shape (an import id, a state, a dataset kind,
    catalogue codes): they are rendered as literals so that no parameter style is involved. A value from a
    file goes through ``conn.execute`` instead."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        while batch := cursor.fetchmany(CHUNK):
            yield batch
    finally:
        cursor.close()


def plain_rows(conn: Connection, query: Any) -> Iterator[tuple[Any, ...]]:
    """``plain_batches`` one row at a time."""
    for batch in plain_batches(conn, query):
        yield from batch


def insert_tuples(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """INSERT the rows (tuples in the order of ``columns``) by the driver's executemany, CHUNK at a time."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"
    chunk: list[tuple[Any, ...]] = []
    written = 0
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            conn.exec_driver_sql(sql, chunk)
            written, chunk = written + len(chunk), []
    if chunk:
        conn.exec_driver_sql(sql, chunk)
        written += len(chunk)
    return written


__all__ = ["CHUNK", "insert_tuples", "plain_batches", "plain_rows"]
