"""Department dataset files: deaths, allowance, poverty, … rosters the cross-checks compare against.

A file (CSV, UTF-8 with or without BOM, or GBK when asked; or XLSX, its first sheet; the
old binary .xls is refused with ``dataset.format_unsupported``) has a header row with exactly
the kind's columns (``KINDS``, as in docs/design.md). Every row is checked first: each bad row is
reported with its line (the sheet's row number for XLSX) and code, and nothing is stored if
any row is bad. XLSX cells become the same strings a CSV would hold: real Excel dates as
YYYY-MM-DD, numbers as their decimal text (never through a float's repr: 60000.0 is "60000"),
and an ID number typed as a number (Excel keeps 15 digits) is refused as ``dataset.id_number_numeric``. A good
file then *replaces* all rows of its kind in one transaction (a department sends its full
current list), records the import in ``dataset_imports`` and appends one ``dataset.imported``
audit entry (kind, file name, sha256, row count: no personal data).

Values are kept as the stripped strings of the file (numbers as decimal strings, never
floats); ``id_number`` is normalised (upper-case X, no spaces) and must pass
``enrollment.id_number.parse``; its region warnings are not errors here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert

from enrollment import id_number as idn
from enrollment.canonical import canonical_bytes
from enrollment.errors import DomainError
from enrollment.roster_csv import CsvFileError, RowError, data_rows, open_table

from . import audit
from .db import now_iso
from .schema import dataset_imports, dataset_rows

KINDS: dict[str, tuple[str, ...]] = {
    "deaths": ("id_number", "name", "death_date"),
    "allowance": ("id_number", "name", "program", "start_date", "end_date"),
    "poverty": ("id_number", "name", "household_id", "status", "year"),
    "business": ("id_number", "name", "company_name", "credit_code", "role"),
    "property": ("id_number", "name", "property_type", "area_m2", "address"),
    "tax": ("id_number", "name", "year", "annual_income"),
    "students": ("id_number", "name", "school", "grade", "status"),
    "courts": ("id_number", "name", "case_type", "start_date", "end_date"),
    "vehicles": ("id_number", "name", "plate", "vehicle_type", "registered_date"),
    "reference_photos": ("id_number", "photo"),
}

ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("allowance", "program"): ("低保", "特困"),
    ("poverty", "status"): ("建档立卡", "已脱贫"),
    ("business", "role"): ("法定代表人", "股东"),
    ("property", "property_type"): ("住宅", "商业", "车库"),
    ("students", "status"): ("在读", "毕业", "退学"),
    ("courts", "case_type"): ("服刑", "失信被执行人"),
}
DATE_COLUMNS = {"death_date", "start_date", "end_date", "registered_date"}
OPTIONAL_COLUMNS = {"end_date"}  # empty allowed

KIND_UNKNOWN = "dataset.kind_unknown"
FORMAT_UNSUPPORTED = "dataset.format_unsupported"
ENCODING = "dataset.encoding"
EMPTY = "dataset.empty"
COLUMNS = "dataset.columns"
ROWS_INVALID = "dataset.rows_invalid"
ROW_LENGTH = "dataset.row_length"
DUPLICATE_ROW = "dataset.duplicate_row"
VALUE_EMPTY = "dataset.value_empty"
DATE = "dataset.date"
ENUM = "dataset.enum"
NUMBER = "dataset.number"
YEAR = "dataset.year"
CREDIT_CODE = "dataset.credit_code"
PHOTO_MISSING = "dataset.photo_missing"
UNREADABLE = "dataset.unreadable"            # not a valid XLSX workbook (or no sheet)
ID_NUMBER_NUMERIC = "dataset.id_number_numeric"  # an ID number stored as a number in a sheet: digits lost

IMPORTED = "dataset.imported"

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DECIMAL = re.compile(r"^\d+(\.\d+)?$")
_MONEY = re.compile(r"^\d+(\.\d{1,2})?$")
_YEAR = re.compile(r"^\d{4}$")
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


@dataclass
class DatasetImport:
    kind: str
    file: str
    sha256: str
    rows: int
    import_id: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_date(value: str) -> str | None:
    if not _DATE.match(value):
        return DATE
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return DATE
    return None


def _regex(pattern: re.Pattern[str], code: str) -> Callable[[str], str | None]:
    return lambda v: None if pattern.match(v) else code


_RULES: dict[str, Callable[[str], str | None]] = {
    "area_m2": _regex(_DECIMAL, NUMBER),
    "annual_income": _regex(_MONEY, NUMBER),
    "year": _regex(_YEAR, YEAR),
    "credit_code": _regex(_CREDIT_CODE, CREDIT_CODE),
}


def _check_row(kind: str, fields: dict[str, str], base: Path) -> tuple[dict[str, str], list[RowError]]:
    """The row as stored (id_number normalised) and its problems (line filled in by the caller)."""
    errors: list[RowError] = []
    out = dict(fields)
    for col, value in fields.items():
        if value == "":
            if col not in OPTIONAL_COLUMNS:
                errors.append(RowError(0, VALUE_EMPTY if col != "id_number" else idn.EMPTY, col))
            continue
        code: str | None = None
        data: dict[str, Any] = {}
        if col == "id_number" and value.startswith(_NUMERIC_CELL):
            code = ID_NUMBER_NUMERIC
        elif col == "id_number":
            try:
                out[col] = idn.parse(value).number
            except DomainError as e:
                code, data = e.code, {k: v for k, v in e.data.items() if k != "value"}
        elif col in DATE_COLUMNS:
            code = _check_date(value)
        elif (kind, col) in ENUMS:
            if value not in ENUMS[(kind, col)]:
                code, data = ENUM, {"allowed": list(ENUMS[(kind, col)])}
        elif col in _RULES:
            code = _RULES[col](value)
        elif col == "photo":
            rel = Path(value)
            if rel.is_absolute() or ".." in rel.parts or not (base / rel).is_file():
                code = PHOTO_MISSING
        if code:
            errors.append(RowError(0, code, col, data))
    return out, errors


# A numeric cell's text is marked with this prefix until _check_row sees it: only the
# id_number column cares (an 18-digit number lost its last digits in Excel); elsewhere
# the mark is dropped.
_NUMERIC_CELL = "\x00n:"


def _cell_text(value: Any) -> str:
    """A cell as the string a CSV would hold (dates ISO, numbers as exact decimal text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")  # not a date: refused by the date check with its row
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, int):
        return _NUMERIC_CELL + str(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same double: what the cell showed.
        text = format(Decimal(repr(value)).normalize(), "f")
        return _NUMERIC_CELL + text
    return str(value).strip()


def _xlsx_table(raw: bytes, errors: list[RowError]) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The first sheet's header and (sheet row number, fields) of each non-blank row."""
    from openpyxl import load_workbook  # imported here: only XLSX imports pay for it

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers record a wrong sheet size; read every row
        values = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
    except (zipfile.BadZipFile, KeyError, ValueError, IndexError, OSError, TypeError) as exc:
        raise CsvFileError(UNREADABLE, format="xlsx") from exc
    except Exception as exc:  # openpyxl raises its own and lxml/xml errors for damaged parts
        raise CsvFileError(UNREADABLE, format="xlsx", reason=type(exc).__name__) from exc
    header_at = next((i for i, v in enumerate(values) if any(_cell_text(c) for c in v)), None)
    if header_at is None:
        raise CsvFileError(EMPTY)
    header = [_plain(_cell_text(c)) for c in values[header_at]]
    while header and header[-1] == "":
        header.pop()

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for index in range(header_at + 1, len(values)):
            line = index + 1
            cells = [_cell_text(c) for c in values[index]]
            if not any(_plain(c) for c in cells):
                continue
            extra = [c for c in cells[len(header):] if _plain(c)]
            if extra:
                errors.append(RowError(line, ROW_LENGTH, data={"expected": len(header),
                                                               "got": len(header) + len(extra)}))
                continue
            cells += [""] * (len(header) - len(cells))
            yield line, {h: c if h == "id_number" else _plain(c) for h, c in zip(header, cells, strict=False)}
    return header, rows()


def _plain(text: str) -> str:
    return text[len(_NUMERIC_CELL):] if text.startswith(_NUMERIC_CELL) else text


def read_dataset(kind: str, path: str | Path, *, encoding: str = "utf-8") -> tuple[bytes, list[dict[str, Any]]]:
    """Check the whole file; return its bytes and the rows to store (each with its line under ``LINE_KEY``),
    or raise CsvFileError listing every problem."""
    if kind not in KINDS:
        raise CsvFileError(KIND_UNKNOWN, kind=kind, kinds=list(KINDS))
    path = Path(path)
    if path.suffix.lower() == ".xls":
        raise CsvFileError(FORMAT_UNSUPPORTED, format="xls", hint="save the sheet as XLSX or CSV (UTF-8 or GBK)")
    raw = path.read_bytes()
    errors: list[RowError] = []
    if path.suffix.lower() == ".xlsx":
        header, table = _xlsx_table(raw, errors)
    else:
        reader, header = open_table(raw, encoding, encoding_code=ENCODING, empty_code=EMPTY)
        table = data_rows(reader, header, errors, row_length_code=ROW_LENGTH)
    expected = KINDS[kind]
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if missing or extra or dupes:
        raise CsvFileError(COLUMNS, missing=missing, extra=extra, repeated=dupes, expected=list(expected))

    rows: list[dict[str, str]] = []
    seen: dict[bytes, int] = {}
    for line, fields in table:
        row, row_errors = _check_row(kind, fields, path.parent)
        if row_errors:
            for e in row_errors:
                e.line = line
            errors.extend(row_errors)
            continue
        key = canonical_bytes(row)
        if key in seen:
            errors.append(RowError(line, DUPLICATE_ROW, data={"first_line": seen[key]}))
            continue
        seen[key] = line
        rows.append({**row, LINE_KEY: line})
    if errors:
        raise CsvFileError(ROWS_INVALID, errors, count=len(errors))
    if not rows:
        raise CsvFileError(EMPTY)
    return raw, rows


# read_dataset's rows carry the file's line under this key (not a column: stored in dataset_rows.line).
LINE_KEY = "__line__"


def _columns(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != LINE_KEY}


def import_dataset(engine: Engine, kind: str, path: str | Path, *, encoding: str = "utf-8",
                   actor: str = audit.CLI) -> DatasetImport:
    """Check the file whole, then replace the kind's rows in one transaction."""
    raw, rows = read_dataset(kind, path, encoding=encoding)
    sha = hashlib.sha256(raw).hexdigest()
    name = Path(path).name
    photos = None
    if kind == "reference_photos":  # faces are found before the transaction (seconds per photo): A1's hook
        from .checks.faces import prepare_reference_photos, store_reference_photos
        photos = prepare_reference_photos([_columns(r) for r in rows], Path(path).parent,
                                          lines=[r[LINE_KEY] for r in rows])
    with engine.begin() as conn:
        import_id = conn.execute(insert(dataset_imports).values(
            kind=kind, file_name=name[:255], sha256=sha, rows=len(rows), imported_at=now_iso(), actor=actor,
        ).returning(dataset_imports.c.id)).scalar_one()
        conn.execute(delete(dataset_rows).where(dataset_rows.c.kind == kind))
        values = [{"kind": kind, "id_number": r["id_number"], "line": r[LINE_KEY],
                   "row": canonical_bytes(_columns(r)).decode("utf-8"), "import_id": import_id} for r in rows]
        for i in range(0, len(values), 1000):
            conn.execute(insert(dataset_rows), values[i:i + 1000])
        if photos is not None:
            store_reference_photos(conn, photos, import_id)
        audit.append(conn, actor, IMPORTED, kind, {"kind": kind, "sha256": sha, "rows": len(rows)},
                     texts={"file": name})  # a file name is free text
    return DatasetImport(kind, name, sha, len(rows), import_id)
