"""The dataset_rules check: rules from data compared set-wise with department datasets, with evidence and counts per rule."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from checkkit import context, store_record, store_rows
from regkit import VILLAGE_A, VILLAGE_B, payload

from registry.checks import DATASET_RULE, FLAG, INTERCEPT
from registry.checks.rules import RULES_INVALID, RulesError, RuleSet, dataset_rules
from registry.datasets import KINDS, import_dataset
from registry.db import open_database


@pytest.fixture
def engine(registry_db_url):
    eng = open_database(registry_db_url)
    yield eng
    eng.dispose()


def enrolled(engine, i: int, *subsidies: str, village: str = VILLAGE_A):
    p = payload(i, village)
    if subsidies:
        p["subsidies"] = sorted(subsidies)
    return store_record(engine, p)


def run(engine, batch, rules=None):
    with engine.connect() as conn:
        return dataset_rules(context(conn, rules=rules or RuleSet.load()), batch)


def counts_of(result) -> dict[str, tuple[int, int, int]]:
    return {c.rule_id: (c.compared, c.intercepted, c.flagged) for c in result.counts}


def test_default_rules_load_and_name_known_datasets():
    """The shipped rules file loads: every rule names a dataset kind, a department and a known severity."""
    rules = RuleSet.load()
    ids = [r.id for r in rules.rules]
    assert "deceased" in ids and "assist_business_owner" in ids and len(ids) == len(set(ids))
    assert all(r.dataset in KINDS and r.severity in (INTERCEPT, FLAG) and r.department for r in rules.rules)


def test_deceased_intercepted_without_subsidies_and_clean_record_has_no_findings(engine):
    """A resident on the deaths list is intercepted whatever they apply for; a clean record gets nothing."""
    dead = enrolled(engine, 1)
    clean = enrolled(engine, 2, "dibao")
    [row_id] = store_rows(engine, "deaths", [{"id_number": dead.id_number, "name": "王明学",
                                               "death_date": "2026-03-01"}])
    result = run(engine, [dead, clean])
    assert clean.record_id not in result.findings
    [f] = result.findings[dead.record_id]
    assert (f.kind, f.severity, f.rule, f.subject) == (DATASET_RULE, INTERCEPT, "deceased", str(row_id))
    assert f.evidence["rule"] == {"id": "deceased", "name": "已故人员（死亡登记）停发一切待遇",
                                  "department": "民政局", "dataset": "deaths"}
    assert f.evidence["subsidy"] == "*"
    assert f.evidence["rows"] == [{"row_id": str(row_id), "id_number": dead.id_number, "name": "王明学",
                                   "death_date": "2026-03-01"}]
    counts = counts_of(result)
    assert counts["deceased"] == (2, 1, 0)
    assert counts["assist_business_owner"] == (1, 0, 0)   # only the dibao applicant was compared
    json.dumps(f.evidence)  # JSON-able as the runner stores it


def test_company_owner_applying_for_dibao_intercepted_but_not_without_dibao(engine):
    """A company legal representative applying for 低保 is intercepted; the same owner applying for farmland subsidy is not."""
    owner = enrolled(engine, 3, "dibao", "farmland")
    shareholder_no_dibao = enrolled(engine, 4, "farmland")
    ids = store_rows(engine, "business", [
        {"id_number": owner.id_number, "name": "王明学", "company_name": "大石农机合作社",
         "credit_code": "91510921MA6ABCDE1X", "role": "法定代表人"},
        {"id_number": shareholder_no_dibao.id_number, "name": "李芬", "company_name": "某公司",
         "credit_code": "91510921MA6ABCDE2X", "role": "股东"}])
    result = run(engine, [owner, shareholder_no_dibao])
    assert shareholder_no_dibao.record_id not in result.findings
    [f] = result.findings[owner.record_id]
    assert (f.rule, f.severity, f.subject) == ("assist_business_owner", INTERCEPT, str(ids[0]))
    assert f.evidence["subsidy"] == "dibao" and f.evidence["rows"][0]["role"] == "法定代表人"
    assert counts_of(result)["assist_business_owner"] == (1, 1, 0)


def test_count_rule_needs_two_commercial_properties(engine):
    """More than one commercial property intercepts (one finding naming the first row, carrying both); one does not."""
    two = enrolled(engine, 5, "tekun")
    one = enrolled(engine, 6, "dibao")

    def prop(number: str, kind: str, n: int) -> dict[str, str]:
        return {"id_number": number, "name": "王明学", "property_type": kind, "area_m2": "80.5",
                "address": f"大石镇{n}号"}
    ids = store_rows(engine, "property", [prop(two.id_number, "商业", 1), prop(one.id_number, "商业", 2),
                                          prop(two.id_number, "住宅", 3), prop(two.id_number, "商业", 4)])
    result = run(engine, [two, one])
    assert one.record_id not in result.findings
    [f] = result.findings[two.record_id]
    assert f.rule == "assist_commercial_property" and f.subject == str(ids[0])
    assert [r["row_id"] for r in f.evidence["rows"]] == [str(ids[0]), str(ids[3])]
    assert counts_of(result)["assist_commercial_property"] == (2, 1, 0)


def test_dates_numbers_and_vehicle_exceptions(engine):
    """An active 特困 entry flags a 低保 applicant and an ended one does not; income above 60000 intercepts; a motorcycle does not."""
    active, ended, rich, modest, biker = (enrolled(engine, i, "dibao") for i in range(10, 15))
    store_rows(engine, "allowance", [
        {"id_number": active.id_number, "name": "甲", "program": "特困", "start_date": "2025-01-01", "end_date": ""},
        {"id_number": ended.id_number, "name": "乙", "program": "特困", "start_date": "2024-01-01",
         "end_date": "2026-11-26"}])
    store_rows(engine, "tax", [
        {"id_number": rich.id_number, "name": "丙", "year": "2025", "annual_income": "60000.01"},
        {"id_number": modest.id_number, "name": "丁", "year": "2025", "annual_income": "60000"}])
    store_rows(engine, "vehicles", [
        {"id_number": biker.id_number, "name": "戊", "plate": "川J12345", "vehicle_type": "摩托车",
         "registered_date": "2020-05-01"},
        {"id_number": rich.id_number, "name": "丙", "plate": "川J88888", "vehicle_type": "小型轿车",
         "registered_date": "2021-05-01"}])
    result = run(engine, [active, ended, rich, modest, biker])
    got = {r: sorted((f.rule, f.severity) for f in fs) for r, fs in result.findings.items()}
    assert got == {active.record_id: [("dibao_while_tekun", FLAG)],
                   rich.record_id: [("assist_high_income", INTERCEPT), ("assist_vehicle_owner", INTERCEPT)]}
    counts = counts_of(result)
    assert counts["dibao_while_tekun"] == (5, 0, 1)
    assert counts["assist_high_income"] == (5, 1, 0)
    assert counts["tekun_while_dibao"] == (0, 0, 0)


def test_rules_on_real_imports_and_deleted_records_skipped(engine, tmp_path):
    """Rows imported from a department CSV are found; a deleted record is neither compared nor reported."""
    prisoner = enrolled(engine, 20, "pension_rural")
    gone = store_record(engine, payload(21, VILLAGE_B), deleted=True)
    path = tmp_path / "courts.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(KINDS["courts"])
        w.writerow([prisoner.id_number, "王明学", "服刑", "2025-06-01", "2028-06-01"])
        w.writerow([gone.id_number, "李芬", "服刑", "2025-06-01", ""])
    import_dataset(engine, "courts", path)
    store_rows(engine, "deaths", [{"id_number": gone.id_number, "name": "李芬", "death_date": "2026-01-01"}])
    result = run(engine, [prisoner, gone])
    assert list(result.findings) == [prisoner.record_id]
    [f] = result.findings[prisoner.record_id]
    assert (f.rule, f.evidence["subsidy"]) == ("imprisoned", "pension_rural")
    assert counts_of(result)["deceased"] == (1, 0, 0)


def test_evidence_names_the_line_of_the_imported_file(engine, tmp_path):
    """A matched row's evidence carries its line in the department's file (after a re-import too, where the
    row ids count on), so a file with one data row reads line 2, not the row's id."""
    dead = enrolled(engine, 30)
    path = tmp_path / "deaths.csv"
    for rows in ([[payload(31)["id_number"], "某甲", "2025-01-01"], [dead.id_number, "王明学", "2026-03-01"]],
                 [[dead.id_number, "王明学", "2026-03-01"]]):
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(KINDS["deaths"])
            w.writerows(rows)
        import_dataset(engine, "deaths", path)
    [f] = run(engine, [dead]).findings[dead.record_id]
    [row] = f.evidence["rows"]
    assert row["line"] == "2" and row["row_id"] != "2" and row["name"] == "王明学"


def write_rules(tmp_path: Path, rule: dict) -> Path:
    base = {"id": "r1", "name": "测试", "department": "民政局", "dataset": "deaths", "applies_to": "*",
            "condition": {"all": []}, "severity": "flag"}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{**base, **rule}]}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "problem"), [
    ({"dataset": "marriages"}, "dataset_unknown"),
    ({"condition": {"all": [{"column": "salary", "op": "eq", "value": "1"}]}}, "column_unknown"),
    ({"applies_to": ["dibao", "free_money"]}, "subsidy_unknown"),
    ({"condition": {"all": [{"column": "name", "op": "like", "value": "王%"}]}}, "op_unknown"),
    ({"condition": {"all": [{"column": "death_date", "op": "gt", "value": "abc"}]}}, "value_not_decimal"),
    ({"condition": {"all": [{"op": "active", "start": "name", "end": "death_date"}]}}, "column_not_date"),
    ({"severity": "warn"}, "severity_unknown"),
    ({"condition": {"all": [], "count_gte": 0}}, "count_invalid"),
])
def test_bad_rule_files_refused_with_code_naming_the_rule(tmp_path, change, problem):
    """A rule naming an unknown dataset, column, subsidy, op or severity is refused as rules.invalid naming the rule."""
    with pytest.raises(RulesError) as exc:
        RuleSet.load(write_rules(tmp_path, change))
    assert exc.value.code == RULES_INVALID
    assert exc.value.data["rule"] == "r1" and exc.value.data["problem"] == problem


def test_unreadable_rules_file(tmp_path):
    """A rules file that is not JSON is refused as rules.unreadable."""
    path = tmp_path / "rules.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(RulesError) as exc:
        RuleSet.load(path)
    assert exc.value.code == "rules.unreadable"


def test_one_query_per_dataset_kind(engine):
    """A batch costs one dataset_rows query per dataset kind its rules need, whatever the batch size."""
    from sqlalchemy import event
    batch = [enrolled(engine, 30 + i, "dibao", "tekun", "education_aid", "pension_rural") for i in range(40)]
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):  # noqa: ANN001
        if "dataset_rows" in statement:
            statements.append(statement)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        run(engine, batch)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == len(RuleSet.load().datasets)
