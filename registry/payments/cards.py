"""The card bank's issuing and activation files (``yikatong registry import-cards``).

CSV (UTF-8 with or without BOM, or GBK when asked) with exactly the columns
``id_number,name,card_number,bank_account,bank,status,date``; status 已制卡/已激活/已挂失/已注销
(``CardStatus``), date YYYY-MM-DD. Like every import the whole file is checked first: each bad line
is reported with its line, field and code, and nothing is written if any line is bad. A card number
must be unique in the file and, in the database, belong to the same ID number.

A good file is applied in one transaction: a new card number is a new card; a known one takes the
file's status, date, name, account and bank (已激活 later 已挂失 is the normal life of a card) unless
the file's date is older than the stored one (an old file imported late does not undo a newer status).
The same file (SHA-256) imported again changes nothing. One ``cards.imported`` audit entry (counts,
hash, file name as a text; no personal data). Card and account numbers are stored whole (the bank file
needs them) and never leave this module unmasked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, case, insert, select, update

from enrollment import error_codes as codes
from enrollment import id_number as idn
from enrollment.errors import DomainError
from enrollment.roster_csv import CsvFileError, RowError, data_rows, open_table
from enrollment.vocabulary import LABELS, CardStatus

from .. import audit
from ..db import now_iso
from ..schema import card_imports, cards
from .masking import mask_tail

COLUMNS = ("id_number", "name", "card_number", "bank_account", "bank", "status", "date")
STATUS_BY_WORD = {LABELS[s]: s for s in CardStatus}   # 已激活 → active …
# The cards a card can be handed out for (mark-issued): printed or already activated.
ISSUABLE = (CardStatus.ACTIVE, CardStatus.MADE)

CARDS_IMPORTED = "cards.imported"   # audit action

_CARD_NUMBER = re.compile(r"^[0-9A-Z]{9,19}$")
_ACCOUNT = re.compile(r"^[0-9A-Z]{8,40}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHUNK = 500


@dataclass
class CardRow:
    line: int
    id_number: str
    name: str
    card_number: str
    bank_account: str
    bank: str
    status: str
    date: str


@dataclass
class CardImport:
    file: str
    sha256: str
    rows: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    older_ignored: int = 0          # known cards whose stored status is newer than the file's
    import_id: int | None = None
    already_imported: bool = False
    by_status: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _date_ok(value: str) -> bool:
    if not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_line(line: int, f: dict[str, str]) -> tuple[CardRow | None, list[RowError]]:
    errors: list[RowError] = []
    for col in COLUMNS:
        if not f[col]:
            errors.append(RowError(line, idn.EMPTY if col == "id_number" else codes.CARD_VALUE_EMPTY, col))
    number = f["id_number"]
    if number:
        try:
            number = idn.parse(number).number
        except DomainError as e:
            errors.append(RowError(line, e.code, "id_number", {k: v for k, v in e.data.items() if k != "value"}))
    card = f["card_number"].replace(" ", "").upper()
    if card and not _CARD_NUMBER.match(card):
        errors.append(RowError(line, codes.CARD_NUMBER, "card_number"))
    account = f["bank_account"].replace(" ", "").upper()
    if account and not _ACCOUNT.match(account):
        errors.append(RowError(line, codes.CARD_ACCOUNT, "bank_account"))
    if f["status"] and f["status"] not in STATUS_BY_WORD:
        errors.append(RowError(line, codes.CARD_STATUS, "status", {"allowed": list(STATUS_BY_WORD)}))
    if f["date"] and not _date_ok(f["date"]):
        errors.append(RowError(line, codes.CARD_DATE, "date"))
    if len(f["name"]) > 100 or len(f["bank"]) > 100:
        errors.append(RowError(line, codes.CARD_VALUE_EMPTY, "name" if len(f["name"]) > 100 else "bank",
                               {"max": 100}))
    if errors:
        return None, errors
    return CardRow(line, number, f["name"], card, account, f["bank"], STATUS_BY_WORD[f["status"]], f["date"]), []


def read_cards(raw: bytes, *, encoding: str = "utf-8") -> list[CardRow]:
    """Every line checked; the rows, or CsvFileError (``card.rows_invalid``) listing every bad line."""
    reader, header = open_table(raw, encoding, encoding_code=codes.CARD_ENCODING, empty_code=codes.CARD_EMPTY)
    if sorted(header) != sorted(COLUMNS):
        raise CsvFileError(codes.CARD_COLUMNS, expected=list(COLUMNS),
                           missing=[c for c in COLUMNS if c not in header],
                           extra=[c for c in header if c not in COLUMNS])
    errors: list[RowError] = []
    rows: list[CardRow] = []
    first_line: dict[str, int] = {}
    for line, fields in data_rows(reader, header, errors, row_length_code=codes.CARD_ROW_LENGTH):
        row, row_errors = _check_line(line, fields)
        if row_errors:
            errors.extend(row_errors)
            continue
        assert row is not None
        if row.card_number in first_line:
            errors.append(RowError(line, codes.CARD_NUMBER_REPEATED, "card_number",
                                   {"first_line": first_line[row.card_number], "card": mask_tail(row.card_number)}))
            continue
        first_line[row.card_number] = line
        rows.append(row)
    if errors:
        raise CsvFileError(codes.CARD_ROWS_INVALID, sorted(errors, key=lambda e: e.line), count=len(errors))
    if not rows:
        raise CsvFileError(codes.CARD_EMPTY)
    return rows


def _known(conn: Connection, numbers: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(numbers), _CHUNK):
        for r in conn.execute(select(cards).where(cards.c.card_number.in_(numbers[i:i + _CHUNK]))):
            out[r.card_number] = r
    return out


def import_cards(engine: Engine, path: str | Path, *, encoding: str = "utf-8", actor: str = audit.CLI
                 ) -> CardImport:
    """Check the file whole, then add new cards and update known ones in one transaction."""
    path = Path(path)
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    name = path.name[:255]
    with engine.connect() as conn:
        done = conn.execute(select(card_imports.c.id, card_imports.c.rows)
                            .where(card_imports.c.sha256 == sha).order_by(card_imports.c.id)).first()
    if done is not None:
        return CardImport(name, sha, done.rows, import_id=done.id, already_imported=True)
    rows = read_cards(raw, encoding=encoding)
    result = CardImport(name, sha, len(rows))
    for r in rows:
        result.by_status[r.status] = result.by_status.get(r.status, 0) + 1
    now = now_iso()
    with engine.begin() as conn:
        known = _known(conn, [r.card_number for r in rows])
        conflicts = [RowError(r.line, codes.CARD_NUMBER_OTHER_PERSON, "card_number", {"card": mask_tail(r.card_number)})
                     for r in rows if r.card_number in known and known[r.card_number].id_number != r.id_number]
        if conflicts:
            raise CsvFileError(codes.CARD_ROWS_INVALID, conflicts, count=len(conflicts))
        import_id = conn.execute(insert(card_imports).values(
            file_name=name, sha256=sha, rows=len(rows), imported_at=now, actor=actor,
        ).returning(card_imports.c.id)).scalar_one()
        new = []
        for r in rows:
            values = {"name": r.name, "bank_account": r.bank_account, "bank": r.bank, "status": r.status,
                      "status_date": r.date}
            old = known.get(r.card_number)
            if old is None:
                new.append({"id_number": r.id_number, "card_number": r.card_number, "import_id": import_id,
                            "updated_at": now, **values})
            elif old.status_date > r.date:
                result.older_ignored += 1
            elif all(getattr(old, k) == v for k, v in values.items()):
                result.unchanged += 1
            else:
                conn.execute(update(cards).where(cards.c.id == old.id)
                             .values(import_id=import_id, updated_at=now, **values))
                result.updated += 1
        for i in range(0, len(new), 1000):
            conn.execute(insert(cards), new[i:i + 1000])
        result.added = len(new)
        result.import_id = import_id
        audit.append(conn, actor, CARDS_IMPORTED, f"card_import:{import_id}", {
            "sha256": sha, "rows": len(rows), "added": result.added, "updated": result.updated,
            "unchanged": result.unchanged, "older_ignored": result.older_ignored}, texts={"file": name})
    return result


def card_view(row: Any) -> dict[str, Any]:
    """A card as every answer shows it: the number and account masked."""
    return {"card_id": row.id, "card_number_masked": mask_tail(row.card_number),
            "bank_account_masked": mask_tail(row.bank_account), "bank": row.bank, "status": row.status,
            "status_label": LABELS[CardStatus(row.status)], "status_date": row.status_date}


def issuable_card(conn: Connection, id_number: str) -> Any | None:
    """The card a resident's card can be marked handed out for: an active one first, else a made one,
    the newest status first; None when the bank has no such card for the ID number."""
    rank = case((cards.c.status == CardStatus.ACTIVE, 0), else_=1)
    return conn.execute(select(cards).where(cards.c.id_number == id_number, cards.c.status.in_(ISSUABLE))
                        .order_by(rank, cards.c.status_date.desc(), cards.c.id.desc()).limit(1)).first()
