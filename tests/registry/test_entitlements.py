"""``registry import-entitlements``: a department's payment roster, its bad lines refused by line, every other
line checked against the cards, the department datasets (by the line's item), the other rosters and the
catalogue's standard, intercepted with evidence or ready; a person's release or rejection, audited."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from regkit import PASSWORD
from reviewkit import T0, make_operator
from sqlalchemy import func, select

from enrollment import error_codes as codes
from enrollment import id_number as idn
from enrollment.roster_csv import CsvFileError
from enrollment.vocabulary import PaymentFindingKind as K
from registry.clock import FixedClock
from registry.datasets import import_dataset
from registry.db import migrate, open_database
from registry.errors import ApiError
from registry.payments.cards import import_cards
from registry.payments.checks import rule_counts
from registry.payments.entitlements import decide, import_entitlements
from registry.schema import audit_log, cards, entitlement_imports, entitlements, payment_findings
from tests.conftest import yikatong

HEADER = "id_number,name,item,period,amount"


def person(seq: int, year: int = 1960) -> str:
    return idn.make("510903", dt.date(year, 3, 1 + seq % 28), seq)


OK, DEAD, BOSS, CAR, OVER, NOCARD, LOST, WRONG = (person(i) for i in range(1, 9))
NAMES = {OK: "赵海波", DEAD: "杨小红", BOSS: "刘永福", CAR: "徐德华", OVER: "吴慧", NOCARD: "王大山", LOST: "李秀英",
         WRONG: "陈国强"}
CARD_OF = {p: f"62178531000{i:08d}" for i, p in enumerate((OK, DEAD, BOSS, CAR, OVER, LOST, WRONG), start=1)}


def write(path: Path, header: str, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join((header, *lines)) + "\n").encode(encoding))
    return path


@pytest.fixture
def env(registry_db_url, tmp_path):
    """Cards for everyone but NOCARD (LOST's is 已挂失, WRONG's in another name) and three datasets."""
    engine = open_database(registry_db_url)
    migrate(engine)
    card_lines = [f"{p},{'陈国华' if p == WRONG else NAMES[p]},{c},6228480{c[-12:]},遂宁银行,"
                  f"{'已挂失' if p == LOST else '已激活'},2026-03-01" for p, c in CARD_OF.items()]
    import_cards(engine, write(tmp_path / "cards.csv", "id_number,name,card_number,bank_account,bank,status,date",
                               *card_lines))
    import_dataset(engine, "deaths", write(tmp_path / "deaths.csv", "id_number,name,death_date",
                                           f"{DEAD},杨小红,2026-08-14"))
    import_dataset(engine, "business", write(tmp_path / "business.csv",
                                             "id_number,name,company_name,credit_code,role",
                                             f"{BOSS},刘永福,遂宁市永福建材有限公司,91510903MA62X8K41Q,法定代表人"))
    import_dataset(engine, "vehicles", write(tmp_path / "vehicles.csv",
                                             "id_number,name,plate,vehicle_type,registered_date",
                                             f"{CAR},徐德华,川J8G2A7,小型轿车,2023-04-18",
                                             f"{OK},赵海波,川J1234A,摩托车,2020-01-01"))
    yield engine, FixedClock(T0), tmp_path
    engine.dispose()


def roster(tmp_path: Path, name: str, *lines: tuple[str, str, str, str, str], encoding: str = "utf-8") -> Path:
    return write(tmp_path / name, HEADER, *(",".join(ln) for ln in lines), encoding=encoding)


def findings_of(engine, line_no: int, import_id: int) -> list[tuple[str, str, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(select(payment_findings.c.kind, payment_findings.c.rule, payment_findings.c.evidence)
                            .join(entitlements, entitlements.c.id == payment_findings.c.entitlement_id)
                            .where(entitlements.c.import_id == import_id, entitlements.c.line == line_no)
                            .order_by(payment_findings.c.id)).all()
    return [(r.kind, r.rule, json.loads(r.evidence)) for r in rows]


def states(engine, import_id: int) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(entitlements.c.line, entitlements.c.state)
                                 .where(entitlements.c.import_id == import_id)).all())


@pytest.fixture(params=["whole_tables", "by_chunks_of_id_numbers"])
def read_path(request, monkeypatch):
    """The check reads each table either whole (about the roster's size) or by chunks of the roster's ID numbers
    (a small roster against a big table); both must find the same."""
    from registry.payments import checks
    if request.param == "whole_tables":
        monkeypatch.setattr(checks, "_SCAN_FACTOR", 10**9)
    else:
        monkeypatch.setattr(checks, "_SCAN_FACTOR", 0)
        monkeypatch.setattr(checks, "_IN_CHUNK", 2)   # several chunks, a person's rows never split
    return request.param


def test_every_planted_line_is_intercepted_with_its_evidence_and_the_clean_one_is_ready(env, read_path):
    """Dead person, company owner on 低保 (no cadre ticked anything), car owner, amount over the standard, no card,
    a lost card only, a name not the holder's: each intercepted with its kind and evidence; the clean line (a
    motorcycle is allowed) is ready; the same whichever way the tables are read."""
    engine, clock, tmp = env
    out = import_entitlements(engine, roster(
        tmp, "mz.csv",
        (OK, NAMES[OK], "dibao", "202612", "520"),                         # 2 ready
        (DEAD, NAMES[DEAD], "elderly_allowance", "202612", "100"),         # 3 deceased
        (BOSS, NAMES[BOSS], "dibao", "202612", "520.50"),                  # 4 company owner
        (CAR, NAMES[CAR], "tekun", "202612", "900"),                       # 5 car owner
        (OVER, NAMES[OVER], "disability_living", "202612", "200"),         # 6 over 120 yuan
        (NOCARD, NAMES[NOCARD], "pension_rural", "202612", "163"),         # 7 no card
        (LOST, NAMES[LOST], "pension_rural", "202612", "163"),             # 8 lost card only
        (WRONG, NAMES[WRONG], "pension_rural", "202612", "163")),          # 9 name mismatch
        "民政局", clock=clock)
    assert (out.rows, out.ready, out.intercepted, out.refused) == (8, 1, 7, 0)
    i = out.import_id
    assert states(engine, i) == {2: "ready", **{n: "intercepted" for n in range(3, 10)}}
    assert findings_of(engine, 2, i) == []
    [(kind, rule, ev)] = findings_of(engine, 3, i)
    assert (kind, rule, ev["rule"]["department"], ev["rows"][0]["death_date"]) == (
        K.PAYMENT_RULE, "deceased", "民政局", "2026-08-14")
    [(kind, rule, ev)] = findings_of(engine, 4, i)
    assert (kind, rule, ev["subsidy"], ev["rows"][0]["role"], ev["rows"][0]["line"]) == (
        K.PAYMENT_RULE, "assist_business_owner", "dibao", "法定代表人", "2")
    [(kind, rule, ev)] = findings_of(engine, 5, i)
    assert (kind, rule, ev["rows"][0]["vehicle_type"]) == (K.PAYMENT_RULE, "assist_vehicle_owner", "小型轿车")
    [(kind, _, ev)] = findings_of(engine, 6, i)
    assert (kind, ev) == (K.AMOUNT_OVER_STANDARD, {"amount_fen": 20000, "max_fen": 12000, "unit": "month",
                                                   "item": "disability_living"})
    assert findings_of(engine, 7, i) == [(K.NO_ACTIVE_CARD, "", {"cards": []})]
    assert findings_of(engine, 8, i) == [(K.NO_ACTIVE_CARD, "", {"cards": [
        {"card": "****" + CARD_OF[LOST][-4:], "status": "lost", "status_date": "2026-03-01"}]})]
    assert findings_of(engine, 9, i) == [(K.NAME_MISMATCH, "", {
        "line_name": "陈国强", "card_holder": "陈国华", "card": "****" + CARD_OF[WRONG][-4:]})]
    with engine.connect() as conn:
        card_ids = conn.execute(select(entitlements.c.line, entitlements.c.card_id)
                                .where(entitlements.c.import_id == i)).all()
        evidence = " ".join(conn.execute(select(payment_findings.c.evidence)).scalars())
    assert {ln for ln, c in card_ids if c is None} == {7, 8}
    assert not any(c in evidence for c in CARD_OF.values())


def test_a_line_is_paid_to_the_newest_active_card_of_its_person(env, read_path):
    """A person with two active cards (a replacement card activated later): the line takes the newer one, by
    status date, and the older card, not active any more in the bank's eyes, is never chosen."""
    engine, clock, tmp = env
    newer = "6217853100000099"
    import_cards(engine, write(tmp / "replacement.csv", "id_number,name,card_number,bank_account,bank,status,date",
                               f"{OK},{NAMES[OK]},{newer},6228480000000099,遂宁银行,已激活,2026-09-01"))
    out = import_entitlements(engine, roster(tmp, "mz.csv", (OK, NAMES[OK], "dibao", "202612", "520"),
                                             (CAR, NAMES[CAR], "pension_rural", "202612", "163")), "民政局",
                              clock=clock)
    assert (out.ready, out.intercepted) == (2, 0)
    with engine.connect() as conn:
        chosen = dict(conn.execute(select(entitlements.c.id_number, cards.c.card_number)
                                   .join(cards, cards.c.id == entitlements.c.card_id)
                                   .where(entitlements.c.import_id == out.import_id)).all())
    assert chosen == {OK: newer, CAR: CARD_OF[CAR]}


def test_the_same_payment_from_a_second_department_is_intercepted_naming_the_first(env, read_path):
    """民政局 pays OK's 低保 for 202612; 残联's roster with the same person, item and period is intercepted as a
    duplicate whose evidence names 民政局 and the period; another period of the same item goes through (whichever
    way the owed lines are read)."""
    engine, clock, tmp = env
    first = import_entitlements(engine, roster(tmp, "mz.csv", (OK, NAMES[OK], "dibao", "202612", "520")),
                                "民政局", clock=clock)
    second = import_entitlements(engine, roster(tmp, "cl.csv", (OK, NAMES[OK], "dibao", "202612", "520"),
                                                (OK, NAMES[OK], "dibao", "202611", "520")), "残联", clock=clock)
    assert (second.ready, second.intercepted) == (1, 1)
    [(kind, _, ev)] = findings_of(engine, 2, second.import_id)
    assert kind == K.DUPLICATE_PAYMENT
    assert (ev["other"]["department"], ev["other"]["period"], ev["other"]["line"], ev["other"]["state"]) == (
        "民政局", "202612", 2, "ready")
    assert states(engine, first.import_id) == {2: "ready"}


def test_bad_lines_are_refused_by_line_while_the_others_go_on(env):
    """A bad ID, an unknown item, a month 13, three decimals and a repeated line are each refused with their line,
    field and code (stored with the reason, never paid); the good line is checked and ready."""
    engine, clock, tmp = env
    bad_id = OK[:-1] + ("0" if OK[-1] != "0" else "1")
    out = import_entitlements(engine, roster(
        tmp, "r.csv",
        (OK, NAMES[OK], "dibao", "202612", "520"),
        (bad_id, "某人", "dibao", "202612", "520"),
        (DEAD, NAMES[DEAD], "lottery", "202612", "100"),
        (CAR, NAMES[CAR], "tekun", "202613", "900"),
        (OVER, NAMES[OVER], "disability_living", "202612", "90.505"),
        (OK, NAMES[OK], "dibao", "202612", "521")), "民政局", clock=clock)
    assert (out.ready, out.intercepted, out.refused) == (1, 0, 5)
    assert [(r["line"], r["field"], r["code"]) for r in out.refused_lines] == [
        (3, "id_number", "id_number.check_character"), (4, "item", codes.ENTITLEMENT_ITEM_UNKNOWN),
        (5, "period", codes.ENTITLEMENT_PERIOD), (6, "amount", "amount.invalid"),
        (7, "id_number", codes.ENTITLEMENT_LINE_REPEATED)]
    assert out.refused_lines[-1]["data"] == {"first_line": 2}
    assert states(engine, out.import_id) == {2: "ready", 3: "refused", 4: "refused", 5: "refused", 6: "refused",
                                             7: "refused"}
    with engine.connect() as conn:
        refusal = json.loads(conn.execute(select(entitlements.c.refusal).where(
            entitlements.c.import_id == out.import_id, entitlements.c.line == 4)).scalar_one())
    assert (refusal["code"], refusal["data"]) == (codes.ENTITLEMENT_ITEM_UNKNOWN, {"item": "lottery"})


def test_a_file_whose_every_line_is_bad_is_refused_whole(env):
    """All lines bad (amounts in fen with a unit, say): the whole file is refused listing every line, nothing
    is stored, not even the import."""
    engine, clock, tmp = env
    with pytest.raises(CsvFileError) as e:
        import_entitlements(engine, roster(tmp, "r.csv", (OK, NAMES[OK], "dibao", "202612", "52000分"),
                                           (CAR, NAMES[CAR], "tekun", "202612", "90000分")), "民政局", clock=clock)
    assert e.value.code == codes.ENTITLEMENT_ALL_REFUSED and e.value.data["count"] == 2
    assert [(r.line, r.code) for r in e.value.rows] == [(2, "amount.invalid"), (3, "amount.invalid")]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(entitlement_imports)).scalar_one() == 0


def test_a_gbk_roster_imports_and_the_same_file_again_changes_nothing(env):
    """A GBK roster imports with encoding gbk; the same file for the same department again adds no line, no finding
    and no audit entry (and its lines are not their own duplicates)."""
    engine, clock, tmp = env
    path = roster(tmp, "gbk.csv", (OK, NAMES[OK], "dibao", "202612", "520"), (CAR, NAMES[CAR], "tekun", "202612",
                                                                            "900"), encoding="gbk")
    first = import_entitlements(engine, path, "民政局", encoding="gbk", clock=clock)
    assert (first.ready, first.intercepted) == (1, 1)
    with engine.connect() as conn:
        before = [conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (entitlements, payment_findings, audit_log)]
    again = import_entitlements(engine, path, "民政局", encoding="gbk", clock=clock)
    assert again.already_imported and (again.import_id, again.ready, again.intercepted) == (first.import_id, 1, 1)
    with engine.connect() as conn:
        assert [conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (entitlements, payment_findings, audit_log)] == before


def test_comparisons_and_interceptions_are_counted_per_rule_and_department(env):
    """Each rule counts the lines of its items it compared and those it stopped, per paying department; the card,
    duplicate and standard checks count every line."""
    engine, clock, tmp = env
    import_entitlements(engine, roster(tmp, "mz.csv", (OK, NAMES[OK], "dibao", "202612", "520"),
                                       (BOSS, NAMES[BOSS], "dibao", "202612", "520"),
                                       (DEAD, NAMES[DEAD], "elderly_allowance", "202612", "100")), "民政局", clock=clock)
    import_entitlements(engine, roster(tmp, "cl.csv", (OVER, NAMES[OVER], "disability_living", "202612", "200")),
                        "残联", clock=clock)
    with engine.connect() as conn:
        got = {(r["rule_id"], r["department"]): (r["compared"], r["intercepted"]) for r in rule_counts(conn)}
    assert got[("assist_business_owner", "民政局")] == (2, 1)
    assert got[("deceased", "民政局")] == (3, 1)
    assert got[("no_active_card", "民政局")] == (3, 0)
    assert got[("amount_over_standard", "残联")] == (1, 1)
    assert got[("deceased", "残联")] == (1, 0)
    assert ("assist_business_owner", "残联") not in got   # no 低保/特困 line: nothing compared


def test_release_and_reject_are_decided_by_central_staff_and_audited(env):
    """An intercepted line released becomes ready with its findings resolved; another rejected becomes not_paid;
    a ready line cannot be decided, a cadre cannot decide, a reason is required; each decision is audited."""
    engine, clock, tmp = env
    central = make_operator(engine, "central", "central")
    cadre = make_operator(engine, "cadre_a", "cadre", "510903102201")
    out = import_entitlements(engine, roster(tmp, "r.csv", (OK, NAMES[OK], "dibao", "202612", "520"),
                                             (OVER, NAMES[OVER], "disability_living", "202612", "200"),
                                             (CAR, NAMES[CAR], "tekun", "202612", "900")), "民政局", clock=clock)
    ids = {ln["line"]: ln["entitlement_id"] for ln in out.intercepted_lines}
    with engine.connect() as conn:
        ready_id = conn.execute(select(entitlements.c.id).where(entitlements.c.state == "ready")).scalar_one()
    for who, eid, reason, expected in ((cadre, ids[3], "核实", (403, "auth.forbidden")),
                                       (central, ids[3], " ", (422, codes.REVIEW_REASON)),
                                       (central, ready_id, "核实", (409, codes.ENTITLEMENT_STATE)),
                                       (central, 99999, "核实", (404, codes.ENTITLEMENT_UNKNOWN))):
        with pytest.raises(ApiError) as e:
            decide(engine, who, eid, "release", reason=reason, clock=clock)
        assert (e.value.status, e.value.code) == expected
    released = decide(engine, central, ids[3], "release", reason="县民政局核定的重度残疾加发标准", clock=clock)
    assert released["state"] == "ready" and released["findings_resolved"] == [K.AMOUNT_OVER_STANDARD]
    assert decide(engine, central, ids[4], "reject", reason="名下有小型轿车", clock=clock)["state"] == "not_paid"
    assert states(engine, out.import_id) == {2: "ready", 3: "ready", 4: "not_paid"}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(payment_findings)
                            .where(payment_findings.c.status == "open")).scalar_one() == 0
        actions = conn.execute(select(audit_log.c.action, audit_log.c.actor, audit_log.c.data)
                               .where(audit_log.c.action.like("entitlement.%")).order_by(audit_log.c.seq)).all()
    assert [(a.action, a.actor) for a in actions] == [("entitlement.released", "central"),
                                                      ("entitlement.rejected", "central")]
    assert OVER not in actions[0].data and json.loads(actions[0].data)["amount_fen"] == 20000


def test_a_duplicate_cannot_be_released_while_the_first_line_is_owed(env):
    """The second department's duplicate stays intercepted on release (entitlement.duplicate_open) while the first
    line is ready; rejecting the first lets it go."""
    engine, clock, tmp = env
    central = make_operator(engine, "central", "central")
    first = import_entitlements(engine, roster(tmp, "mz.csv", (OK, NAMES[OK], "dibao", "202612", "520")), "民政局",
                                clock=clock)
    second = import_entitlements(engine, roster(tmp, "cl.csv", (OK, NAMES[OK], "dibao", "202612", "520")), "残联",
                                 clock=clock)
    dup = second.intercepted_lines[0]["entitlement_id"]
    with pytest.raises(ApiError) as e:
        decide(engine, central, dup, "release", reason="残联发放", clock=clock)
    assert e.value.code == codes.ENTITLEMENT_DUPLICATE_OPEN and e.value.data["department"] == "民政局"
    with engine.connect() as conn:
        first_id = conn.execute(select(entitlements.c.id).where(
            entitlements.c.import_id == first.import_id)).scalar_one()
    # The first line is not intercepted, so it cannot be rejected through decide: stop it as a batch would.
    with engine.begin() as conn:
        conn.execute(entitlements.update().where(entitlements.c.id == first_id).values(state="not_paid"))
    assert decide(engine, central, dup, "release", reason="改由残联发放", clock=clock)["state"] == "ready"


def test_the_command_line_imports_a_roster_as_an_operator_and_decides(env, registry_db_url):
    """import-entitlements --json --as (password on stdin) reports refused and intercepted lines by line without a
    card number; payments decide releases one."""
    engine, _clock, tmp = env
    make_operator(engine, "central", "central")
    path = roster(tmp, "r.csv", (OK, NAMES[OK], "dibao", "202612", "520"),
                  (WRONG, NAMES[WRONG], "pension_rural", "202612", "163"),
                  (CAR, NAMES[CAR], "tekun", "2026-12", "900"))
    r = yikatong("registry", "import-entitlements", str(path), "--department", "民政局", "--db", registry_db_url,
                 "--json", "--as", "central", input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["ready"], out["intercepted"], out["refused"]) == (1, 1, 1)
    assert [(x["line"], x["code"]) for x in out["refused_lines"]] == [(4, codes.ENTITLEMENT_PERIOD)]
    assert [(x["line"], x["kinds"]) for x in out["intercepted_lines"]] == [(3, [K.NAME_MISMATCH])]
    assert not any(c in r.stdout + r.stderr for c in CARD_OF.values())
    with engine.connect() as conn:
        actor = conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "entitlements.imported")).scalar()
    assert actor == "central"
    d = yikatong("registry", "payments", "decide", str(out["intercepted_lines"][0]["entitlement_id"]), "release",
                 "--reason", "户籍姓名已更正", "--as", "central", "--db", registry_db_url, "--json",
                 input=PASSWORD + "\n")
    assert d.returncode == 0, d.stderr
    assert json.loads(d.stdout)["state"] == "ready"
    wrong = yikatong("registry", "payments", "decide", "1", "reject", "--reason", "x", "--as", "central",
                     "--db", registry_db_url, input="not-the-password\n")
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: auth.bad_credentials")


def test_the_demo_rosters_are_intercepted_for_real_reasons(registry_db_url):
    """The demo's datasets, cards and two departments' rosters: 民政局's deceased, company owner, car owner,
    over-standard, lost-card, no-card and misspelt lines are intercepted, 残联's repeat of a 民政局 payment is a
    duplicate and its malformed period refused; the rest are ready."""
    from resources import path as resource_path

    engine = open_database(registry_db_url)
    migrate(engine)
    clock = FixedClock(T0)
    try:
        for kind in ("deaths", "business", "vehicles", "courts"):
            import_dataset(engine, kind, resource_path("demo", "datasets", f"{kind}.csv"))
        assert import_cards(engine, resource_path("demo", "cards.csv")).added == 52
        mz = import_entitlements(engine, resource_path("demo", "entitlements_民政局.csv"), "民政局", clock=clock)
        cl = import_entitlements(engine, resource_path("demo", "entitlements_残联.csv"), "残联", clock=clock)
        assert (mz.ready, mz.intercepted, mz.refused) == (5, 7, 0)
        assert {ln["line"]: ln["kinds"] for ln in mz.intercepted_lines} == {
            5: [K.PAYMENT_RULE], 6: [K.PAYMENT_RULE], 7: [K.PAYMENT_RULE], 9: [K.AMOUNT_OVER_STANDARD],
            10: [K.NO_ACTIVE_CARD], 11: [K.NO_ACTIVE_CARD], 12: [K.NAME_MISMATCH]}
        assert [f[1] for n in (5, 6, 7) for f in findings_of(engine, n, mz.import_id)] == [
            "deceased", "assist_business_owner", "assist_vehicle_owner"]
        assert (cl.ready, cl.intercepted, cl.refused) == (3, 1, 1)
        assert cl.intercepted_lines[0]["kinds"] == [K.DUPLICATE_PAYMENT]
        assert [(r["line"], r["code"]) for r in cl.refused_lines] == [(6, codes.ENTITLEMENT_PERIOD)]
    finally:
        engine.dispose()


def test_the_command_line_names_a_refused_line_in_chinese_with_its_code(env, registry_db_url):
    """import-entitlements without --json prints a refused line's field, its Chinese wording and its code in
    brackets, so the clerk reads what to fix and support can still grep the code."""
    engine, _clock, tmp = env
    path = roster(tmp, "r.csv", (OK, NAMES[OK], "dibao", "202612", "520"),
                  (CAR, NAMES[CAR], "tekun", "2026-12", "900"))
    r = yikatong("registry", "import-entitlements", str(path), "--department", "民政局", "--db", registry_db_url)
    assert r.returncode == 0, r.stderr
    refused = [ln for ln in r.stdout.splitlines() if "refused " in ln and ln.startswith("  line ")]
    assert refused == [f"  line 3, period: refused 发放期次应为6位年月，例如 202612 [{codes.ENTITLEMENT_PERIOD}]"], r.stdout


def test_the_command_line_names_findings_and_rules_in_chinese_and_json_keeps_the_codes(registry_db_url):
    """import-entitlements without --json names each interception in Chinese with its code in brackets (a
    dataset rule by its name in the rules file) and counts per rule by name; --json of the same roster
    carries only the codes; payments decide says the new state in Chinese."""
    from resources import path as resource_path

    engine = open_database(registry_db_url)
    migrate(engine)
    make_operator(engine, "central", "central")
    for kind in ("deaths", "business", "vehicles", "courts"):
        import_dataset(engine, kind, resource_path("demo", "datasets", f"{kind}.csv"))
    import_cards(engine, resource_path("demo", "cards.csv"))
    engine.dispose()
    r = yikatong("registry", "import-entitlements", str(resource_path("demo", "entitlements_民政局.csv")),
                 "--department", "民政局", "--db", registry_db_url)
    assert r.returncode == 0, r.stderr
    lines = {ln.split(")")[0].split()[1]: ln for ln in r.stdout.splitlines() if ln.startswith("  line ")}
    assert lines["5"].endswith("intercepted 部门数据比对 [payment_rule]: 已故人员（死亡登记）停发一切待遇 [deceased]")
    assert lines["6"].endswith("部门数据比对 [payment_rule]: 低保/特困申请人为企业法定代表人或股东 [assist_business_owner]")
    assert lines["9"].endswith("intercepted 金额超过标准 [amount_over_standard]")
    assert lines["10"].endswith("intercepted 无已激活社保卡 [no_active_card]")
    assert lines["12"].endswith("intercepted 姓名与持卡人不符 [name_mismatch]")
    per_rule = r.stdout.split("compared / intercepted, per rule:\n")[1]
    assert "  已故人员（死亡登记）停发一切待遇 [deceased]: " in per_rule
    assert "  重复发放 [duplicate_payment]: 12 / 0" in per_rule
    j = yikatong("registry", "import-entitlements", str(resource_path("demo", "entitlements_残联.csv")),
                 "--department", "残联", "--db", registry_db_url, "--json")
    out = json.loads(j.stdout)
    assert out["intercepted_lines"][0]["kinds"] == ["duplicate_payment"]
    assert "duplicate_payment" in out["checks"]["by_rule"] and not any(
        "\u4e00" <= c <= "\u9fff" for c in json.dumps(out["intercepted_lines"] + [out["checks"]], ensure_ascii=False))
    d = yikatong("registry", "payments", "decide", str(out["intercepted_lines"][0]["entitlement_id"]), "reject",
                 "--reason", "重复申报", "--as", "central", "--db", registry_db_url, input=PASSWORD + "\n")
    assert d.returncode == 0, d.stderr
    assert "不予发放 [not_paid] (findings resolved: 重复发放 [duplicate_payment])" in d.stdout, d.stdout
