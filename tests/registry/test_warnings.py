"""Warning lights at configured moments (fixed clock), the SQL and Python rules agreeing, the report files."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from pypdf import PdfReader
from regkit import PASSWORD, VILLAGE_A
from reviewkit import T0, finding, make_operator, plant_card_of_record, push_new, route
from sqlalchemy import select

from enrollment.errors import mask_id_number
from registry import review
from registry.auth import Operator
from registry.clock import FixedClock
from registry.db import iso, open_database
from registry.reports import ReportError, find_font
from registry.schema import record_versions, records
from registry.service import push
from registry.warnings import (
    LIGHTS,
    LimitsError,
    WarningLimits,
    current_version_join,
    light_condition,
    light_of,
    warnings,
    write_report_csv,
    write_report_pdf,
)
from sync.protocol import push_item


@pytest.fixture
def env(registry_db_url, tmp_path):
    engine = open_database(registry_db_url)
    limits_file = tmp_path / "limits.json"
    limits_file.write_text(json.dumps({"unhandled_yellow_hours": 10, "unissued_yellow_hours": 4,
                                       "red_after_hours": 6}), encoding="utf-8")
    limits = WarningLimits.load(limits_file)
    clock = FixedClock(T0)
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    staff = make_operator(engine, "central", "central")
    make_operator(engine, "issuer", "central")  # hands out cards: the approver may not (separation of duties)
    yield engine, clock, limits, cadre, staff
    engine.dispose()


def _issuer(engine) -> Operator:
    return make_operator(engine, "issuer", "central")


def _lights(engine, limits, moment: dt.datetime) -> dict[str, str]:
    with engine.connect() as conn:
        return {w["record_id"]: w["light"] for w in warnings(conn, moment, limits)}


def test_limits_come_from_the_resource_file_or_an_override_and_bad_files_are_refused(tmp_path):
    """The default limits are the resource file's (72/48/72 h); a file overrides them; a bad value is refused with a code."""
    assert WarningLimits.load() == WarningLimits(72, 48, 72)
    bad = tmp_path / "bad.json"
    bad.write_text('{"red_after_hours": -1}', encoding="utf-8")
    with pytest.raises(LimitsError) as e:
        WarningLimits.load(bad)
    assert e.value.code == "warnings.limits_invalid"
    with pytest.raises(LimitsError):
        WarningLimits.load(tmp_path / "missing.json")


def test_unhandled_and_unissued_records_turn_yellow_then_red_at_the_configured_moments(env):
    """Unhandled counts from the version's arrival (10 h yellow, +6 h red); approved-unissued from the decision (4 h, +6 h)."""
    engine, clock, limits, cadre, staff = env
    waiting = push_new(engine, cadre, 1, clock=clock)["record_id"]
    approved = push_new(engine, cadre, 2, clock=clock)["record_id"]
    route(engine, {waiting: [finding()], approved: []}, now=T0 + dt.timedelta(hours=1))
    clock.advance(hours=2)
    review.decide(engine, staff, approved, "approve", version=1, reason=None, password=PASSWORD, clock=clock)

    def at(hours: float) -> dict[str, str]:
        return _lights(engine, limits, T0 + dt.timedelta(hours=hours))

    assert at(5.99) == {}
    assert at(6) == {approved: "yellow"}                                # decided at 2 h + 4 h
    assert at(10) == {approved: "yellow", waiting: "yellow"}            # the check at 1 h does not restart it
    assert at(12) == {approved: "red", waiting: "yellow"}               # 2 + 4 + 6
    assert at(16) == {approved: "red", waiting: "red"}                  # 10 + 6
    clock.advance(hours=20)
    plant_card_of_record(engine, approved)
    review.mark_card_issued(engine, _issuer(engine), approved, version=1, clock=clock)
    review.decide(engine, staff, waiting, "return", version=1, reason="补材料", clock=clock)
    assert at(30) == {}
    with engine.connect() as conn:
        item = warnings(conn, T0 + dt.timedelta(hours=16), limits)
    assert item == []  # decided and issued records never come back for past moments either: lights use state


def test_sql_and_python_light_rules_agree(env):
    """For every record and many moments, filtering by light in SQL gives the same answer as light_of per row."""
    engine, clock, limits, cadre, staff = env
    ids = []
    for i in range(6):
        ids.append(push_new(engine, cadre, 10 + i, clock=clock)["record_id"])
        clock.advance(hours=3)
    route(engine, {ids[0]: [], ids[1]: [], ids[2]: [finding()], ids[3]: []}, now=clock.now())
    for rid in ids[:2]:
        review.decide(engine, staff, rid, "approve", version=1, reason=None, password=PASSWORD, clock=clock)
    plant_card_of_record(engine, ids[0])
    review.mark_card_issued(engine, _issuer(engine), ids[0], version=1, clock=clock)
    review.decide(engine, staff, ids[3], "reject", version=1, reason="不符合", password=PASSWORD, clock=clock)
    # A tombstone (ids[5] deleted on the laptop) never warns, whatever its state.
    assert push(engine, cadre, "laptop-1", [push_item(ids[5], 1, None, deleted=True)], clock=clock)[0]["status"] \
        == "accepted"
    q = select(records, record_versions.c.received_at).select_from(current_version_join())
    for h in range(0, 60, 2):
        moment = T0 + dt.timedelta(hours=h, minutes=17)
        with engine.connect() as conn:
            python = {r.record_id: light_of(r, moment, limits) for r in conn.execute(q)}
            sql = {light: sorted(r.record_id for r in conn.execute(q.where(light_condition(light, moment, limits))))
                   for light in LIGHTS}
        assert sql == {light: sorted(k for k, v in python.items() if v == light) for light in LIGHTS}, h
        assert python[ids[5]] == "none"
    assert python[ids[4]] == "red" and python[ids[1]] == "red"  # the last moment: both clocks ran out


def test_report_files_list_the_red_records_masked(env, tmp_path):
    """The CSV (UTF-8 with BOM) and the Chinese PDF list exactly the red records, ID numbers masked, with the title."""
    engine, clock, limits, cadre, staff = env
    red = push_new(engine, cadre, 20, clock=clock)
    clock.advance(hours=8)
    yellow = push_new(engine, cadre, 21, clock=clock)
    moment = T0 + dt.timedelta(hours=19)
    with engine.connect() as conn:
        items = warnings(conn, moment, limits)
    assert [(i["record_id"], i["light"]) for i in items] == [(red["record_id"], "red"),
                                                             (yellow["record_id"], "yellow")]
    assert items[0]["since"] == iso(T0) and items[0]["red_at"] == iso(T0 + dt.timedelta(hours=16))
    assert write_report_csv(items, tmp_path / "r.csv") == 1
    raw = (tmp_path / "r.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows == [["村", "记录", "身份证号", "状态", "原因", "起算时间", "超时小时", "经办人"],
                    [VILLAGE_A, red["record_id"], mask_id_number(red["id_number"]), "已收到待检查", "受理超时",
                     "2026-12-01 08:00", "9", "cadre_a"]]
    assert write_report_pdf(items, tmp_path / "r.pdf", at=moment, limits=limits) == 1
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "r.pdf").pages)
    for expected in ("一卡通 预警升级报告", "报送：纪委", mask_id_number(red["id_number"]), "受理超时",
                     "2026-12-01 08:00", "受理 10 小时内处理"):
        assert expected in text, expected
    assert mask_id_number(yellow["id_number"]) not in text and red["id_number"] not in text


def test_a_missing_cjk_font_is_a_clear_error():
    """Without the TrueType CJK font the PDF report fails with report.font_missing naming the package."""
    with pytest.raises(ReportError) as e:
        find_font(("/nonexistent/wqy-zenhei.ttc",))
    assert e.value.code == "report.font_missing" and "fonts-wqy-zenhei" in e.value.message
    assert find_font().endswith(".ttc")  # installed by scripts/_setup.sh
