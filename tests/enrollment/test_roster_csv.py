"""Roster CSV files are checked whole: every bad row is reported with its line, or all rows come back."""

from __future__ import annotations

import datetime as dt

import pytest

from enrollment import id_number as idn
from enrollment import roster_csv

HEADER = "id_number,name,sex,birth_date,household_id,relation,address,phone\n"
VILLAGE = "510903102201"


def row(seq: int, name: str = "李四", sex: str | None = None, birth: dt.date = dt.date(1990, 2, 3)) -> str:
    number = idn.make("510921", birth, seq)
    sex = sex or ("男" if seq % 2 else "女")
    return f"{number},{name},{sex},{birth.isoformat()},H01,户主,大石村1组,\n"


def test_good_file_returns_every_row(tmp_path):
    """A clean file returns its rows with normalised fields and line numbers."""
    f = tmp_path / "r.csv"
    f.write_text(HEADER + row(1) + row(2, "王𠈌"), encoding="utf-8")
    rows = roster_csv.read_rows(f, village_code=VILLAGE)
    assert [r.line for r in rows] == [2, 3]
    assert rows[1].person["name"] == "王𠈌"


def test_gbk_file_needs_its_encoding(tmp_path):
    """A GBK file read as UTF-8 is refused as an encoding error; with gbk it reads."""
    f = tmp_path / "r.csv"
    f.write_bytes((HEADER + row(1, "张三")).encode("gbk"))
    with pytest.raises(roster_csv.CsvFileError) as info:
        roster_csv.read_rows(f, village_code=VILLAGE)
    assert info.value.code == roster_csv.FILE_ENCODING
    assert roster_csv.read_rows(f, village_code=VILLAGE, encoding="gbk")[0].person["name"] == "张三"


def test_extra_column_is_an_error(tmp_path):
    """A column the format does not have is refused rather than silently dropped."""
    f = tmp_path / "r.csv"
    f.write_text(HEADER.strip() + ",bank\n" + row(1).strip() + ",1\n", encoding="utf-8")
    with pytest.raises(roster_csv.CsvFileError) as info:
        roster_csv.read_rows(f, village_code=VILLAGE)
    assert (info.value.code, info.value.data["columns"]) == (roster_csv.COLUMNS_EXTRA, ["bank"])


def test_bad_rows_are_all_reported_with_lines(tmp_path):
    """Sex disagreeing with the ID, a bad check character and a duplicate are each reported at their line."""
    good = row(1)
    bad_sex = row(3, sex="女")
    number = idn.make("510921", dt.date(1990, 2, 3), 5)
    wrong = "1" if number[-1] != "1" else "2"
    bad_check = row(5).replace(number, number[:-1] + wrong, 1)
    f = tmp_path / "r.csv"
    f.write_text(HEADER + good + bad_sex + bad_check + good, encoding="utf-8")
    with pytest.raises(roster_csv.CsvFileError) as info:
        roster_csv.read_rows(f, village_code=VILLAGE)
    found = {(r.line, r.code) for r in info.value.rows}
    assert (3, "sex.mismatch") in found
    assert (5, roster_csv.DUPLICATE_ID) in found
    assert any(line == 4 for line, _ in found)
