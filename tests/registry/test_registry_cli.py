"""``yikatong registry`` subcommands through the real CLI entry point (no server needed)."""

from __future__ import annotations

import json

from regkit import PASSWORD, VILLAGE_A, resident, write_roster

from tests.conftest import yikatong


def reg(db_url: str, command: str, *args: str, input: str | None = None):
    return yikatong("registry", command, "--db", db_url, *args, input=input)


def stats(db_url: str) -> dict:
    r = reg(db_url, "stats", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _one_line_error(r, code: str) -> None:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error: {code}"), r.stderr


def test_add_operator_reads_password_from_stdin(registry_db_url):
    """add-operator takes the password on stdin; a duplicate username fails with exit 1; a cadre without a village is a usage error (2)."""
    r = reg(registry_db_url, "add-operator", "--username", "wang", "--role", "cadre", "--village", VILLAGE_A,
            "--display-name", "王干部", input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    assert PASSWORD not in r.stdout + r.stderr
    r = reg(registry_db_url, "add-operator", "--username", "li", "--role", "central", input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    s = stats(registry_db_url)
    assert s["operators"] == {"total": 2, "cadre": 1, "central": 1, "admin": 0}
    assert s["villages"] == 1

    dup = reg(registry_db_url, "add-operator", "--username", "wang", "--role", "admin", input=PASSWORD + "\n")
    assert dup.returncode == 1
    _one_line_error(dup, "operator.username_taken")

    usage = reg(registry_db_url, "add-operator", "--username", "zhao", "--role", "cadre", input=PASSWORD + "\n")
    assert usage.returncode == 2
    _one_line_error(usage, "operator.village_required")

    empty = reg(registry_db_url, "add-operator", "--username", "zhao", "--role", "admin", input="\n")
    assert empty.returncode == 2
    _one_line_error(empty, "auth.password_empty")
    assert stats(registry_db_url)["operators"]["total"] == 2


def test_import_roster_good_file_and_reimport(registry_db_url, tmp_path):
    """A good roster imports every resident; importing it again changes nothing; a changed row is updated."""
    rows = [resident(i) for i in range(6)]
    path = write_roster(tmp_path / "roster.csv", rows)
    r = reg(registry_db_url, "import-roster", str(path), "--village", VILLAGE_A, "--village-name", "大石村")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"village_code": VILLAGE_A, "rows": 6, "added": 6, "updated": 0,
                                    "unchanged": 0}
    again = json.loads(reg(registry_db_url, "import-roster", str(path), "--village", VILLAGE_A).stdout)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 6)
    rows[2]["address"] = "新址3组"
    write_roster(path, rows)
    changed = json.loads(reg(registry_db_url, "import-roster", str(path), "--village", VILLAGE_A).stdout)
    assert (changed["added"], changed["updated"], changed["unchanged"]) == (0, 1, 5)
    s = stats(registry_db_url)
    assert s["residents"] == 6 and s["villages"] == 1


def test_import_roster_bad_file_reports_lines_and_applies_nothing(registry_db_url, tmp_path):
    """A roster with bad rows fails (exit 1) with one readable stderr line per bad row (its line, field, code
    and wording), or with --json one line holding the error's JSON; nothing is imported."""
    rows = [resident(i) for i in range(5)]
    rows[1]["id_number"] = rows[1]["id_number"][:17] + ("0" if rows[1]["id_number"][17] != "0" else "1")
    rows[3]["sex"] = "女" if rows[3]["sex"] == "男" else "男"
    path = write_roster(tmp_path / "bad.csv", rows)
    r = reg(registry_db_url, "import-roster", str(path), "--village", VILLAGE_A)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "error: csv.rows_invalid: 文件中有2行数据不正确，请逐行核对", r.stderr
    assert lines[1] == "  line 3, id_number: id_number.check_character: 身份证号码校验位不正确，请逐位核对", r.stderr
    assert lines[2].startswith("  line 5, sex: sex.mismatch: ") and len(lines) == 3, r.stderr
    assert "{" not in r.stderr
    r = reg(registry_db_url, "import-roster", str(path), "--village", VILLAGE_A, "--json")
    assert r.returncode == 1
    _one_line_error(r, "csv.rows_invalid")
    detail = json.loads(r.stderr.split(": ", 2)[2])
    found = {(row["line"], row["code"]) for row in detail["data"]["rows"]}
    assert (3, "id_number.check_character") in found
    assert (5, "sex.mismatch") in found
    assert rows[1]["id_number"] not in r.stderr  # no full ID numbers in the message
    assert stats(registry_db_url)["residents"] == 0


def test_import_roster_gbk_file(registry_db_url, tmp_path):
    """A GBK-encoded roster imports with --encoding gbk, names intact; without it the file is refused csv.encoding
    with a hint to add --encoding gbk."""
    rows = [{**resident(i), "name": "王明学", "address": "大石村一组"} for i in range(3)]
    path = write_roster(tmp_path / "gbk.csv", rows, encoding="gbk")
    wrong = reg(registry_db_url, "import-roster", str(path), "--village", VILLAGE_A)
    assert wrong.returncode == 1
    _one_line_error(wrong, "csv.encoding")
    assert "--encoding gbk" in wrong.stderr   # the file reads as GBK: the error says which option to add
    r = reg(registry_db_url, "import-roster", str(path), "--village", VILLAGE_A, "--encoding", "gbk")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"] == 3


def test_import_roster_extra_column_refused(registry_db_url, tmp_path):
    """A roster with a column we do not know is refused csv.columns_extra, not silently dropped."""
    rows = [{**resident(i), "income": "1000"} for i in range(2)]
    path = write_roster(tmp_path / "extra.csv", rows, extra_columns=("income",))
    r = reg(registry_db_url, "import-roster", str(path), "--village", VILLAGE_A)
    assert r.returncode == 1
    _one_line_error(r, "csv.columns_extra")
    assert "income" in r.stderr
    assert stats(registry_db_url)["residents"] == 0


def test_stats_json_shape(registry_db_url):
    """stats --json on a fresh database reports zero of everything under stable keys."""
    s = stats(registry_db_url)
    assert set(s) == {"residents", "villages", "operators", "records", "versions", "conflicts", "blobs"}
    assert s["records"] == {"total": 0, "live": 0, "tombstones": 0, "by_state": {}}
    assert s["blobs"] == {"complete": 0, "partial": 0, "bytes": 0, "partial_bytes": 0}
    plain = reg(registry_db_url, "stats")
    assert plain.returncode == 0 and "residents 0" in plain.stdout


def test_bad_db_url_is_a_usage_error(tmp_path):
    """An unsupported database URL is exit 2 with one error line."""
    r = yikatong("registry", "stats", "--db", "mysql://x@localhost/db")
    assert r.returncode == 2
    _one_line_error(r, "db.url_invalid")


def test_db_from_environment(tmp_path):
    """Without --db the URL comes from REGISTRY_DATABASE_URL."""
    db = tmp_path / "env.sqlite3"
    r = yikatong("registry", "stats", "--json", env={"REGISTRY_DATABASE_URL": f"sqlite:///{db}"})
    assert r.returncode == 0, r.stderr
    assert db.exists()


def test_unreachable_database_is_one_error_line():
    """A PostgreSQL URL nobody answers on fails with exit 1 and one db.unavailable line, no traceback."""
    r = yikatong("registry", "stats", "--db", "postgresql://yk:yk@127.0.0.1:9/nowhere", timeout=60)
    assert r.returncode == 1
    _one_line_error(r, "db.unavailable")
