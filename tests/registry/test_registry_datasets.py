"""Department dataset files (CSV and XLSX) import all or nothing: every bad row is named with its line and code, a good file replaces its kind's rows, and each import is one audit entry."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from regkit import id_number
from sqlalchemy import func, select

from enrollment.roster_csv import CsvFileError
from registry import audit
from registry.datasets import IMPORTED, KINDS, import_dataset
from registry.db import open_database
from registry.schema import audit_log, dataset_imports, dataset_rows
from tests.conftest import yikatong


def write(path: Path, kind: str, rows: list[list[str]], *, header: list[str] | None = None,
          encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header or list(KINDS[kind]))
        w.writerows(rows)
    return path


def deaths(n: int, start: int = 0) -> list[list[str]]:
    return [[id_number(i), "王明学", f"2026-0{1 + i % 9}-15"] for i in range(start, start + n)]


def bad_check(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def stored(db_url: str, kind: str | None = None) -> list[dict]:
    engine = open_database(db_url)
    q = select(dataset_rows.c.row).order_by(dataset_rows.c.id)
    if kind:
        q = q.where(dataset_rows.c.kind == kind)
    with engine.connect() as conn:
        out = [json.loads(r) for r in conn.execute(q).scalars()]
    engine.dispose()
    return out


def cli(db_url: str, *args: str):
    return yikatong("registry", "import-dataset", *args, "--db", db_url)


def error_of(stderr: str) -> tuple[str, dict]:
    """The refusal as ``--json`` prints it: ``error: CODE: {json}`` on the last line."""
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), stderr
    code, _, rest = line[len("error: "):].partition(": ")
    return code, json.loads(rest)


def test_deaths_import_and_reimport_replaces(registry_db_url, tmp_path):
    """A good deaths file imports via the CLI; importing a newer full list replaces the old rows."""
    first = write(tmp_path / "deaths-1.csv", "deaths", deaths(3))
    r = cli(registry_db_url, "deaths", str(first))
    assert r.returncode == 0, r.stderr
    assert "3 deaths rows imported" in r.stdout
    assert [row["id_number"] for row in stored(registry_db_url)] == [id_number(i) for i in range(3)]

    second = write(tmp_path / "deaths-2.csv", "deaths", deaths(2, start=10))
    r = cli(registry_db_url, "deaths", str(second), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows"] == 2
    rows = stored(registry_db_url, "deaths")
    assert [row["id_number"] for row in rows] == [id_number(10), id_number(11)]
    assert rows[0] == {"id_number": id_number(10), "name": "王明学", "death_date": "2026-02-15"}
    engine = open_database(registry_db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dataset_imports)).scalar_one() == 2
    engine.dispose()


def test_other_kinds_are_not_touched_by_a_reimport(registry_db_url, tmp_path):
    """Replacing one kind leaves every other kind's rows alone; numbers stay decimal strings."""
    engine = open_database(registry_db_url)
    import_dataset(engine, "tax", write(tmp_path / "tax.csv", "tax", [[id_number(1), "李芬", "2025", "12000.50"]]))
    import_dataset(engine, "deaths", write(tmp_path / "d1.csv", "deaths", deaths(2)))
    import_dataset(engine, "deaths", write(tmp_path / "d2.csv", "deaths", deaths(1, start=5)))
    engine.dispose()
    assert stored(registry_db_url, "tax") == [{"id_number": id_number(1), "name": "李芬", "year": "2025",
                                               "annual_income": "12000.50"}]
    assert len(stored(registry_db_url, "deaths")) == 1


def test_gbk_file_needs_encoding_gbk(registry_db_url, tmp_path):
    """A GBK file read as UTF-8 is refused (dataset.encoding) with nothing stored; with --encoding gbk it imports."""
    path = write(tmp_path / "deaths-gbk.csv", "deaths", deaths(2), encoding="gbk")
    r = cli(registry_db_url, "--json", "deaths", str(path))
    assert r.returncode == 1
    code, detail = error_of(r.stderr)
    assert code == "dataset.encoding"
    assert stored(registry_db_url) == []
    r = cli(registry_db_url, "--json", "deaths", str(path), "--encoding", "gbk")
    assert r.returncode == 0, r.stderr
    assert [row["name"] for row in stored(registry_db_url)] == ["王明学", "王明学"]


def test_wrong_columns(registry_db_url, tmp_path):
    """Missing or extra columns are refused as dataset.columns, naming them."""
    path = write(tmp_path / "deaths.csv", "deaths", [[id_number(1), "王明学", "2026-01-01"]],
                 header=["id_number", "name", "died"])
    r = cli(registry_db_url, "--json", "deaths", str(path))
    assert r.returncode == 1
    code, detail = error_of(r.stderr)
    assert code == "dataset.columns"
    assert detail["data"]["missing"] == ["death_date"] and detail["data"]["extra"] == ["died"]
    assert stored(registry_db_url) == []


def test_duplicate_row_and_bad_check_character_nothing_stored(registry_db_url, tmp_path):
    """A duplicate row (naming the first line) and a bad check character are each reported with their line; the old rows stay."""
    engine = open_database(registry_db_url)
    import_dataset(engine, "deaths", write(tmp_path / "old.csv", "deaths", deaths(1, start=20)))
    rows = deaths(3)
    rows.append(list(rows[0]))                       # line 5 duplicates line 2
    rows.append([bad_check(id_number(7)), "张三", "2026-03-01"])  # line 6
    path = write(tmp_path / "deaths.csv", "deaths", rows)
    with pytest.raises(CsvFileError) as exc:
        import_dataset(engine, "deaths", path)
    engine.dispose()
    assert exc.value.code == "dataset.rows_invalid"
    got = [(e.line, e.code, e.data.get("first_line")) for e in exc.value.rows]
    assert got == [(5, "dataset.duplicate_row", 2), (6, "id_number.check_character", None)]
    assert [r["id_number"] for r in stored(registry_db_url)] == [id_number(20)]

    r = cli(registry_db_url, "--json", "deaths", str(path))
    assert r.returncode == 1
    code, detail = error_of(r.stderr)
    assert code == "dataset.rows_invalid"
    assert [(x["line"], x["code"]) for x in detail["data"]["rows"]] == [
        (5, "dataset.duplicate_row"), (6, "id_number.check_character")]


def test_business_bad_role_and_values(registry_db_url, tmp_path):
    """A business file with a bad role, credit code or date is refused row by row with the column and code."""
    ok = [id_number(1), "王明学", "大石农机合作社", "91510921MA6ABCDE1X", "法定代表人"]
    path = write(tmp_path / "business.csv", "business", [
        ok, [id_number(2), "李芬", "大石农机合作社", "91510921MA6ABCDE1X", "经理"],
        [id_number(3), "李芬", "某公司", "9151092", "股东"]])
    r = cli(registry_db_url, "--json", "business", str(path))
    assert r.returncode == 1
    code, detail = error_of(r.stderr)
    assert code == "dataset.rows_invalid"
    assert [(x["line"], x["code"], x["field"]) for x in detail["data"]["rows"]] == [
        (3, "dataset.enum", "role"), (4, "dataset.credit_code", "credit_code")]
    assert stored(registry_db_url) == []

    allowance = write(tmp_path / "allowance.csv", "allowance", [
        [id_number(1), "王明学", "低保", "2025-01-01", ""], [id_number(2), "李芬", "特困", "2025-02-30", ""]])
    engine = open_database(registry_db_url)
    with pytest.raises(CsvFileError) as exc:
        import_dataset(engine, "allowance", allowance)
    engine.dispose()
    assert [(e.line, e.code, e.field) for e in exc.value.rows] == [(3, "dataset.date", "start_date")]


def test_reference_photos_must_exist_and_xls_unknown_kind_refused(registry_db_url, tmp_path):
    """Photo paths are relative to the file and must exist; old binary .xls is refused as unsupported; an unknown kind is a usage error."""
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"\xff\xd8jpeg")
    path = write(tmp_path / "refs.csv", "reference_photos",
                 [[id_number(1), "photos/a.jpg"], [id_number(2), "photos/missing.jpg"]])
    engine = open_database(registry_db_url)
    with pytest.raises(CsvFileError) as exc:
        import_dataset(engine, "reference_photos", path)
    assert [(e.line, e.code) for e in exc.value.rows] == [(3, "dataset.photo_missing")]
    xls = tmp_path / "deaths.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(CsvFileError) as exc:
        import_dataset(engine, "deaths", xls)
    assert exc.value.code == "dataset.format_unsupported"
    engine.dispose()
    r = cli(registry_db_url, "marriages", str(path))
    assert r.returncode == 2 and r.stderr.startswith("error: usage.kind_unknown"), r.stderr


def test_imports_are_audited_and_the_chain_verifies(registry_db_url, tmp_path):
    """Each import is one dataset.imported entry (kind, sha256, rows, the file name by reference; no ID numbers) and verify-audit passes."""
    engine = open_database(registry_db_url)
    path = write(tmp_path / "deaths.csv", "deaths", deaths(2))
    import_dataset(engine, "deaths", path)
    with pytest.raises(CsvFileError):
        import_dataset(engine, "deaths", write(tmp_path / "bad.csv", "deaths", [[id_number(1), "", "x"]]))
    import_dataset(engine, "poverty", write(tmp_path / "pov.csv", "poverty",
                                            [[id_number(3), "王明学", "H0001", "已脱贫", "2024"]]))
    with engine.connect() as conn:
        entries = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
        data = json.loads(entries[0].data)
        named = audit.with_texts(conn, [data])[0]  # the file name is kept outside the chain
    engine.dispose()
    assert [e.action for e in entries] == [IMPORTED] * 2
    assert data["kind"] == "deaths" and data["rows"] == 2 and "file" not in data
    assert named["file"] == "deaths.csv"
    assert len(data["sha256"]) == 64
    text = "".join(e.data + e.subject for e in entries)
    assert not any(id_number(i) in text for i in range(5)) and "王明学" not in text
    r = yikatong("registry", "verify-audit", "--db", registry_db_url)
    assert r.returncode == 0, r.stderr
    assert "2 entries" in r.stdout


def write_xlsx(path: Path, header: list, rows: list[list], *, second_sheet: bool = False) -> Path:
    """A workbook written by openpyxl: the header row, then the rows (cells keep their Python types)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    if second_sheet:
        book.create_sheet("其他").append(["whatever"])
    book.save(path)
    return path


def test_xlsx_imports_with_real_dates_and_numbers_as_text(registry_db_url, tmp_path):
    """A good XLSX (first sheet only) imports like a CSV: Excel dates become YYYY-MM-DD, numbers keep their decimal text."""
    import datetime as dt

    deaths_path = write_xlsx(tmp_path / "deaths.xlsx", list(KINDS["deaths"]), [
        [id_number(1), "王明学", dt.datetime(2026, 3, 1)], [id_number(2), "李芬", "2026-04-02"]],
        second_sheet=True)
    r = cli(registry_db_url, "deaths", str(deaths_path))
    assert r.returncode == 0, r.stderr
    assert stored(registry_db_url, "deaths") == [
        {"id_number": id_number(1), "name": "王明学", "death_date": "2026-03-01"},
        {"id_number": id_number(2), "name": "李芬", "death_date": "2026-04-02"}]
    tax = write_xlsx(tmp_path / "tax.xlsx", list(KINDS["tax"]), [
        [id_number(3), "张三", 2025, 60000.5], [id_number(4), "李四", "2025", 72000], [None, None, None, None],
        [id_number(5), "王五", 2024, 0.1]])
    engine = open_database(registry_db_url)
    import_dataset(engine, "tax", tax)
    engine.dispose()
    assert [(x["year"], x["annual_income"]) for x in stored(registry_db_url, "tax")] == [
        ("2025", "60000.5"), ("2025", "72000"), ("2024", "0.1")]


def test_xlsx_wrong_columns_and_bad_rows_reported_with_sheet_rows(registry_db_url, tmp_path):
    """An XLSX with wrong columns is dataset.columns; bad check characters, numeric ID numbers and duplicates name their sheet row."""
    engine = open_database(registry_db_url)
    wrong = write_xlsx(tmp_path / "wrong.xlsx", ["id_number", "name", "died"], [[id_number(1), "王明学", "2026-01-01"]])
    with pytest.raises(CsvFileError) as exc:
        import_dataset(engine, "deaths", wrong)
    assert exc.value.code == "dataset.columns"
    assert exc.value.data["missing"] == ["death_date"] and exc.value.data["extra"] == ["died"]

    bad = write_xlsx(tmp_path / "bad.xlsx", list(KINDS["deaths"]), [
        [id_number(1), "王明学", "2026-01-01"],                 # row 2
        [bad_check(id_number(2)), "张三", "2026-01-01"],        # row 3
        [None, None, None],                                   # row 4: blank, skipped
        [int(id_number(3)[:17] + "0"), "李四", "2026-01-01"],   # row 5: ID typed as a number
        [id_number(1), "王明学", "2026-01-01"],                 # row 6 duplicates row 2
        [id_number(6), "赵六", dt_time_cell()],                 # row 7: a date with a time of day
        [id_number(7), "钱七", "2026-01-01", "多余"]])          # row 8: a value beyond the columns
    with pytest.raises(CsvFileError) as exc:
        import_dataset(engine, "deaths", bad)
    engine.dispose()
    assert exc.value.code == "dataset.rows_invalid"
    assert [(e.line, e.code) for e in exc.value.rows] == [
        (3, "id_number.check_character"), (5, "dataset.id_number_numeric"), (6, "dataset.duplicate_row"),
        (7, "dataset.date"), (8, "dataset.row_length")]
    assert stored(registry_db_url) == []
    r = cli(registry_db_url, "--json", "deaths", str(bad))
    assert r.returncode == 1
    code, detail = error_of(r.stderr)
    assert code == "dataset.rows_invalid" and detail["data"]["rows"][0]["line"] == 3


def dt_time_cell():
    import datetime as dt

    return dt.datetime(2026, 1, 1, 14, 30)


def test_corrupt_xlsx_refused_as_unreadable(registry_db_url, tmp_path):
    """A file named .xlsx that is not a workbook (or a damaged one) is refused as dataset.unreadable, nothing stored."""
    engine = open_database(registry_db_url)
    for i, content in enumerate([b"PK\x03\x04 not really a zip", b"id_number,name,death_date\n", b""]):
        path = tmp_path / f"corrupt{i}.xlsx"
        path.write_bytes(content)
        with pytest.raises(CsvFileError) as exc:
            import_dataset(engine, "deaths", path)
        assert exc.value.code == "dataset.unreadable"
    good = write_xlsx(tmp_path / "good.xlsx", list(KINDS["deaths"]), [[id_number(1), "王明学", "2026-01-01"]])
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(good.read_bytes()[:400])
    with pytest.raises(CsvFileError) as exc:
        import_dataset(engine, "deaths", damaged)
    engine.dispose()
    assert exc.value.code == "dataset.unreadable"
    assert stored(registry_db_url) == []
    r = cli(registry_db_url, "--json", "deaths", str(damaged))
    assert r.returncode == 1 and error_of(r.stderr)[0] == "dataset.unreadable"
