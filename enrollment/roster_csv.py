"""Roster and bulk-enrollment CSV files.

Columns: ``id_number,name,sex,birth_date,household_id,relation,address,phone`` (UTF-8, a
BOM tolerated; GBK when asked). The village comes from the command line, not the file.
A file is checked whole before anything is applied: a bad row is reported with its line
number and reason, and the caller applies nothing from a file that has any.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DomainError, ValidationErrors
from .records import validate_person

COLUMNS = ("id_number", "name", "sex", "birth_date", "household_id", "relation", "address", "phone")

FILE_ENCODING = "csv.encoding"
FILE_EMPTY = "csv.empty"
COLUMNS_MISSING = "csv.columns_missing"
COLUMNS_EXTRA = "csv.columns_extra"
ROW_LENGTH = "csv.row_length"
DUPLICATE_ID = "csv.duplicate_id_number"


@dataclass
class RowError:
    line: int
    code: str
    field: str | None = None
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "field": self.field, "data": self.data}


class CsvFileError(DomainError):
    """The file as a whole, or some of its rows, are refused; ``rows`` lists each problem."""

    def __init__(self, code: str, rows: list[RowError] | None = None, **data: Any) -> None:
        super().__init__(code, None, **data)
        self.rows = rows or []

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["data"] = {**out["data"], "rows": [r.to_dict() for r in self.rows]}
        return out


@dataclass
class ParsedRow:
    line: int
    fields: dict[str, str]
    person: dict[str, Any]
    warnings: tuple[str, ...]
    extra: dict[str, str]


def open_table(raw: bytes, encoding: str, *, encoding_code: str = FILE_ENCODING,
               empty_code: str = FILE_EMPTY) -> tuple[Any, list[str]]:
    """Decode a CSV file (UTF-8 with or without BOM, or the named encoding) and read its header row.

    Shared by every CSV import (rosters, department datasets); callers name their own codes.
    """
    utf8 = encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")
    try:
        text = raw.decode("utf-8-sig" if utf8 else encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        hint = {}
        if utf8:
            try:  # most files from a Chinese office suite that are not UTF-8 are GBK: say so
                raw.decode("gbk")
                hint = {"suggested_encoding": "gbk"}
            except UnicodeDecodeError:
                pass
        raise CsvFileError(encoding_code, encoding=encoding, **hint) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CsvFileError(empty_code) from None
    return reader, header


def data_rows(reader: Any, header: list[str], errors: list[RowError], *, row_length_code: str = ROW_LENGTH
              ) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, fields) for each non-blank row; a row of the wrong width goes to ``errors`` instead."""
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            errors.append(RowError(line, row_length_code, data={"expected": len(header), "got": len(values)}))
            continue
        yield line, dict(zip(header, (v.strip() for v in values), strict=True))


def read_rows(path: str | Path, *, village_code: str, encoding: str = "utf-8",
              optional_columns: tuple[str, ...] = (), today: dt.date | None = None) -> list[ParsedRow]:
    """Parse and validate every row; raise CsvFileError listing all bad rows, or return them all."""
    reader, header = open_table(Path(path).read_bytes(), encoding)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CsvFileError(COLUMNS_MISSING, columns=missing)
    extra = [c for c in header if c not in COLUMNS and c not in optional_columns]
    if extra:
        raise CsvFileError(COLUMNS_EXTRA, columns=extra)

    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, fields in data_rows(reader, header, errors):
        try:
            person, warnings = validate_person({**fields, "village_code": village_code}, today=today)
        except ValidationErrors as e:
            errors.extend(RowError(line, x.code, x.field, _row_data(x)) for x in e.errors)
            continue
        if person["id_number"] in seen:
            errors.append(RowError(line, DUPLICATE_ID, "id_number", {"first_line": seen[person["id_number"]]}))
            continue
        seen[person["id_number"]] = line
        rows.append(ParsedRow(line, fields, person, warnings,
                              {k: fields[k] for k in optional_columns if k in fields}))
    if errors:
        raise CsvFileError("csv.rows_invalid", errors, count=len(errors))
    if not rows:
        raise CsvFileError(FILE_EMPTY)
    return rows


def _row_data(e: DomainError) -> dict[str, Any]:
    return {k: v for k, v in e.data.items() if k not in ("value",)}
