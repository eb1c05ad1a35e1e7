"""The central workspace's payment screens against a real registry process: the demo's cards and datasets
loaded by the CLI, the departments' rosters imported through 代发's file dialog, the interceptions worked in
支付拦截, a batch built, approved by a second person, exported and reconciled, and the dashboard's 代发
figures read from the same data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from central_helpers import CENTRAL_PASSWORD
from PySide6.QtCore import Qt

from desktop.central import CentralWindow
from sync import protocol
from tests.conftest import ROOT, yikatong

DEMO = ROOT / "resources" / "demo"
VILLAGE = "510903102201"
HERE = Path(__file__).resolve().parent
CIVIL, DISABLED = DEMO / "entitlements_民政局.csv", DEMO / "entitlements_残联.csv"


def seed(registry) -> None:
    """What the county has before its first roster: the village's roster, the departments' datasets, the card
    bank's file and two central staff (a batch's creator may not approve it)."""
    steps = [("import-roster", str(DEMO / f"roster_{VILLAGE}.csv"), "--village", VILLAGE, "--village-name", "大石村"),
             *(("import-dataset", kind, str(DEMO / "datasets" / f"{kind}.csv"))
               for kind in ("deaths", "business", "vehicles", "courts")),
             ("import-cards", str(DEMO / "cards.csv"))]
    for args in steps:
        done = registry.cli(*args)
        assert done.returncode == 0, (args, done.stderr)
    for username, display in (("central1", "周审核"), ("central2", "吴发卡")):
        done = registry.cli("add-operator", "--username", username, "--role", "central", "--display-name", display,
                            input=CENTRAL_PASSWORD + "\n")
        assert done.returncode == 0, done.stderr


def import_by_cli(registry, path: Path, department: str) -> dict:
    done = registry.cli("import-entitlements", str(path), "--department", department, "--as", "central1", "--json",
                        input=CENTRAL_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def county(registry):
    seed(registry)
    return registry


def _token(url: str, username: str) -> str:
    from regkit import Api

    api = Api(url).login(username, CENTRAL_PASSWORD)
    token = api.token
    api.close()
    return token


def open_window(qtbot, url: str, username: str = "central1") -> CentralWindow:
    from sync.http import RegistryHttp

    token = _token(url, username)
    with RegistryHttp(url, token) as http:
        me = http.request("GET", protocol.ME)["operator"]
    win = CentralWindow(url, token, me)
    qtbot.addWidget(win)
    win.resize(1366, 740)
    win.show()
    qtbot.waitUntil(lambda: win.net.pending() == 0 and win.long_net.pending() == 0, timeout=20_000)
    return win


def idle(win: CentralWindow) -> bool:
    return win.net.pending() == 0 and win.long_net.pending() == 0


def import_roster(qtbot, win: CentralWindow, path: Path, department: str) -> dict:
    """导入发放名单… as a person does it: the department typed, the file picked in the file dialog, 导入."""
    win.tabs.setCurrentWidget(win.payments)
    qtbot.mouseClick(win.payments.import_button, Qt.MouseButton.LeftButton)
    dialog = win.payments.roster_dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.ok_button.isEnabled()               # nothing chosen yet
    dialog.department_combo.setCurrentText(department)
    qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)
    files = dialog.file_dialog
    files.selectFile(str(path))
    files.accept()
    assert dialog.path_edit.text() == str(path) and dialog.ok_button.isEnabled()
    with qtbot.waitSignal(win.payments.roster_imported, timeout=60_000) as got:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    return got.args[0]


def rows_of(win: CentralWindow) -> dict[str, dict]:
    return {i["name"]: i for i in win.interceptions.model.items}


def cell(model, row: int, column: str) -> str:
    return model.data(model.index(row, model.COLUMNS.index(column)))


def test_rosters_imported_through_the_tab_show_their_interceptions_and_a_release_moves_one_out(
        qtbot, county, tmp_path, screens):
    """Two departments' rosters imported through 导入发放名单… report 可发放/拦截/数据有误 with the refused line in
    Chinese; 支付拦截 lists the stopped lines with their reasons and evidence (the full ID number only in the
    detail); 放行 with a reason and the password moves a line out of 待处理 into 已处理."""
    win = open_window(qtbot, county.url)
    try:
        civil = import_roster(qtbot, win, CIVIL, "民政局")
        assert (civil["ready"], civil["intercepted"], civil["refused"]) == (5, 7, 0)
        text = win.payments.roster_dialog.result_label.text()
        assert "可发放 <b>5</b> 行" in text and "拦截 <b>7</b> 行" in text and "数据有误 <b>0</b> 行" in text
        qtbot.mouseClick(win.payments.roster_dialog.close_button, Qt.MouseButton.LeftButton)

        disabled = import_roster(qtbot, win, DISABLED, "残联")
        assert (disabled["ready"], disabled["intercepted"], disabled["refused"]) == (3, 1, 1)
        dialog = win.payments.roster_dialog
        assert dialog.rows_table.rowCount() == 1
        assert dialog.rows_table.item(0, 0).text() == "6"        # the header is line 1: 胡俊杰's 2026-12
        assert dialog.rows_table.item(0, 1).text() == "发放期次应为6位年月，例如 202612"
        screens(dialog, "central_payments_roster_imported")
        dialog.close()

        win.tabs.setCurrentWidget(win.interceptions)
        view = win.interceptions
        qtbot.waitUntil(lambda: idle(win) and view.model.rowCount() == 8, timeout=15_000)
        rows = rows_of(win)
        assert set(rows) == {"赵欣怡", "刘永福", "徐德华", "漆玉梅", "罗永福", "高勇", "郭慧", "漆明学"}
        model = view.model
        reasons = {name: cell(model, model.items.index(item), "findings") for name, item in rows.items()}
        assert reasons["赵欣怡"].startswith("已故人员")
        assert "企业法定代表人" in reasons["刘永福"] and "机动车" in reasons["徐德华"]
        assert reasons["漆明学"] == "重复发放" and reasons["高勇"] == "无已激活社保卡"
        assert reasons["郭慧"] == "姓名与持卡人不符" and reasons["漆玉梅"] == "金额超过标准"
        xu = model.items.index(rows["徐德华"])
        assert cell(model, xu, "amount_fen") == "520.00" and cell(model, xu, "village_code") == "大石村"
        assert cell(model, xu, "id_number_masked") == "5109**********2559"
        assert cell(model, model.items.index(rows["漆玉梅"]), "amount_fen") == "1,800.00"
        assert view.count_label.text().startswith("共 8 条")

        # the duplicate's evidence names the other department's line
        with qtbot.waitSignal(view.detail_loaded, timeout=15_000):
            view.select_entitlement(rows["漆明学"]["entitlement_id"])
        assert "部门：民政局" in view.detail_text.toPlainText()

        with qtbot.waitSignal(view.detail_loaded, timeout=15_000):
            view.select_entitlement(rows["徐德华"]["entitlement_id"])
        evidence = view.detail_text.toPlainText()
        assert "身份证号码：510902195709052559" in evidence            # the full number only here
        assert "机动车登记" in evidence and "公安局交警支队" in evidence
        assert "510902195709052559" not in json.dumps(model.items, ensure_ascii=False)
        assert view.release_button.isEnabled() and view.reject_button.isEnabled()
        screens(win, "central_payments_interceptions")

        qtbot.mouseClick(view.release_button, Qt.MouseButton.LeftButton)
        decision = view.decision_dialog
        assert decision is not None and decision.windowTitle() == "确认：放行"
        decision.password_edit.setText("wrong-password")
        assert not decision.ok_button.isEnabled()                  # a release needs its reason
        decision.reason_edit.setPlainText("已核实名下车辆为农用车，符合低保条件")
        screens(decision, "central_payments_release_dialog")
        qtbot.mouseClick(decision.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(decision.error_label.text()), timeout=15_000)
        assert "密码" in decision.error_label.text() and rows_of(win).keys() >= {"徐德华"}
        decision.password_edit.setText(CENTRAL_PASSWORD)
        with qtbot.waitSignal(view.decided, timeout=15_000) as got:
            qtbot.mouseClick(decision.ok_button, Qt.MouseButton.LeftButton)
        assert got.args[0]["state"] == "ready"
        qtbot.waitUntil(lambda: idle(win) and view.model.rowCount() == 7, timeout=15_000)
        assert "徐德华" not in rows_of(win)

        view.status_combo.setCurrentIndex(view.status_combo.findData("decided"))
        qtbot.waitUntil(lambda: idle(win) and set(rows_of(win)) == {"徐德华"}, timeout=15_000)
        assert cell(view.model, 0, "state") == "待发放"
        with qtbot.waitSignal(view.detail_loaded, timeout=15_000):
            view.select_entitlement(rows["徐德华"]["entitlement_id"])
        assert "放行" in view.detail_text.toPlainText() and not view.release_button.isEnabled()
        # the department filter lists the departments that sent rosters
        combo = view.department_combo
        assert {combo.itemData(i) for i in range(1, combo.count())} == {"民政局", "残联"}
    finally:
        win.close()


def _results(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_bytes(("reference,status,reason\r\n" + "".join(f"{r},{s},{w}\r\n" for r, s, w in rows)).encode())
    return path


def test_a_batch_built_approved_by_a_second_person_exported_and_reconciled(qtbot, county, tmp_path, screens):
    """生成批次 makes a batch its creator cannot approve (the registry's refusal in Chinese); the second person's
    审批 authorises it; 导出银行文件… saves the registry's bytes with their SHA-256; 导入回盘文件… shows
    到账/失败/处理中 as 平衡 with the unknown line's reason; the dashboard's success rate is the data's."""
    import_by_cli(county, CIVIL, "民政局")
    maker = open_window(qtbot, county.url, "central1")
    checker = None
    try:
        view = maker.payments
        maker.tabs.setCurrentWidget(view)
        qtbot.waitUntil(lambda: idle(maker) and view.ready_model.rowCount() > 0, timeout=15_000)
        groups = view.ready_model.items
        row = next(i for i, g in enumerate(groups) if g["item"] == "elderly_allowance" and not g["township"])
        assert cell(view.ready_model, row, "lines") == "3" and cell(view.ready_model, row, "total_fen") == "800.00"
        assert cell(view.ready_model, row, "item") == "高龄津贴"
        view.ready_table.selectRow(row)
        with qtbot.waitSignal(view.batch_built, timeout=30_000) as built:
            qtbot.mouseClick(view.build_button, Qt.MouseButton.LeftButton)
        batch_id = built.args[0]["id"]
        qtbot.waitUntil(lambda: idle(maker) and view.select_batch(batch_id), timeout=15_000)
        b = view.batches_model
        assert cell(b, 0, "state") == "待审批" and cell(b, 0, "total_fen") == "800.00"
        assert cell(b, 0, "created_by") == "central1" and view.approve_button.isEnabled()
        assert not view.export_button.isEnabled()

        # the creator's own approval: refused by the registry, worded in Chinese, the dialog stays open
        qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
        dialog = view.approve_dialog
        dialog.password_edit.setText(CENTRAL_PASSWORD)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(dialog.error_label.text()), timeout=15_000)
        assert dialog.error_label.text() == "批次须由生成人以外的另一位工作人员审批"
        screens(dialog, "central_payments_approve_refused")
        dialog.reject()

        checker = open_window(qtbot, county.url, "central2")
        other = checker.payments
        checker.tabs.setCurrentWidget(other)
        qtbot.waitUntil(lambda: idle(checker) and other.select_batch(batch_id), timeout=15_000)
        qtbot.mouseClick(other.approve_button, Qt.MouseButton.LeftButton)
        other.approve_dialog.password_edit.setText(CENTRAL_PASSWORD)
        with qtbot.waitSignal(other.batch_approved, timeout=15_000):
            qtbot.mouseClick(other.approve_dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: idle(checker) and other.select_batch(batch_id)
                        and cell(other.batches_model, 0, "state") == "已审批", timeout=15_000)
        assert cell(other.batches_model, 0, "authorised_by") == "central2" and other.export_button.isEnabled()

        # 导出银行文件… in GBK through the save dialog: the registry's bytes, its SHA-256 shown
        target = tmp_path / "代发.csv"
        other.encoding_combo.setCurrentIndex(other.encoding_combo.findData("gbk"))
        save = other.ask_export()
        save.selectFile(str(target))
        with qtbot.waitSignal(other.bank_file_saved, timeout=30_000) as saved:
            save.accept()
        data = target.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        assert saved.args == [str(target), sha] and sha in other.status_label.text()
        again = tmp_path / "again.csv"
        done = yikatong("registry", "payments", "export", batch_id, "-o", str(again), "--encoding", "gbk",
                        "--db", county.db_url)
        assert done.returncode == 0, done.stderr
        assert again.read_bytes() == data and "周芳".encode("gbk") in data
        qtbot.waitUntil(lambda: idle(checker) and other.select_batch(batch_id)
                        and cell(other.batches_model, 0, "state") == "已导出银行文件", timeout=15_000)

        # the bank's answer: two paid, 周芳's account closed, and a line the registry never sent
        with qtbot.waitSignal(other.lines_loaded, timeout=15_000) as shown:
            other._batch_selected()
        lines = shown.args[0]["lines"]
        assert {ln["name"] for ln in lines} == {"杨*红", "林*梅", "周*"}
        outcome = {"杨*红": ("成功", ""), "林*梅": ("成功", ""), "周*": ("失败", "账户已销户")}
        answer = _results(tmp_path / "回盘.csv", [(ln["reference"], *outcome[ln["name"]]) for ln in lines]
                          + [("NO-SUCH-REFERENCE", "成功", "")])
        qtbot.mouseClick(other.results_button, Qt.MouseButton.LeftButton)
        imp = other.results_dialog
        qtbot.mouseClick(imp.choose_button, Qt.MouseButton.LeftButton)
        imp.file_dialog.selectFile(str(answer))
        imp.file_dialog.accept()
        with qtbot.waitSignal(other.results_imported, timeout=30_000) as got:
            qtbot.mouseClick(imp.ok_button, Qt.MouseButton.LeftButton)
        status = got.args[0]["status"]
        assert (status["paid"]["count"], status["failed"]["count"], status["pending"]["count"]) == (2, 1, 0)
        text = imp.result_label.text()
        assert "已到账：2 笔 / 500.00 元" in text and "失败：1 笔 / 300.00 元" in text
        assert "处理中：0 笔 / 0.00 元" in text and "平衡" in text and "不平衡" not in text
        assert imp.rows_table.rowCount() == 1 and imp.rows_table.item(0, 0).text() == "5"
        assert imp.rows_table.item(0, 1).text() == "回盘中的业务参考号在登记中心找不到（NO-SUCH-REFERENCE）"
        screens(imp, "central_payments_reconciled")
        imp.close()
        qtbot.waitUntil(lambda: idle(checker) and other.select_batch(batch_id)
                        and cell(other.batches_model, 0, "state") == "已回盘", timeout=15_000)
        with qtbot.waitSignal(other.lines_loaded, timeout=15_000):
            other._batch_selected()
        table = other.lines_table
        bounced = next(r for r in range(table.rowCount()) if table.item(r, 1).text() == "周*")
        assert table.item(bounced, 5).text() == "银行退回" and table.item(bounced, 6).text() == "账户已销户"
        assert cell(other.batches_model, 0, "paid") == "2 笔" and cell(other.batches_model, 0, "failed") == "1 笔"
        screens(checker, "central_payments_batches")

        # the dashboard: 2 paid of 3 with a result → 66.67 %, the amounts by item and department in 元
        with qtbot.waitSignal(checker.payment_dashboard_loaded, timeout=15_000):
            checker.tabs.setCurrentWidget(checker.dashboard)
        dash = checker.dashboard
        assert dash.pay_tiles["paid_count"].value.text() == "2"
        assert dash.pay_tiles["paid_yuan"].value.text() == "500.00"
        assert dash.pay_tiles["success_rate"].value.text() == "66.67%"
        assert dash.pay_tiles["failed_count"].value.text() == "1"
        assert dash.pay_items_chart.rows == [("高龄津贴", [50000])]
        assert dash.pay_items_chart.value_text(50000) == "500.00"
        assert dash.pay_departments_chart.rows == [("民政局", [50000])]
        rules = dict(dash.pay_rules_chart.rows)
        assert rules["已故人员（死亡登记）停发一切待遇"][1] == 1 and rules["无已激活社保卡"][1] >= 1
        assert dict(dash.pay_rule_departments_chart.rows)["民政局"][1] >= 7
        assert dash.tiles["residents"].value.text() == "53"           # the enrollment figures stay
        screens(checker, "central_payments_dashboard")
        from PySide6.QtWidgets import QScrollArea

        screens(dash.findChild(QScrollArea).widget(), "central_payments_dashboard_whole")
    finally:
        maker.close()
        if checker is not None:
            checker.close()


def test_success_rate_is_written_from_the_registry_or_the_counts():
    """The rate reads as the registry's four-decimal string in per cent, else from the counts rounded half up,
    and 暂无 before any result."""
    from desktop.central.dashboard_view import success_rate_text
    from desktop.central.payment_labels import yuan

    assert success_rate_text("0.9957") == "99.57%"
    assert success_rate_text(None, 29108, 126) == "99.57%"
    assert success_rate_text(None, 2, 1) == "66.67%" and success_rate_text(None, 1, 2) == "33.33%"
    assert success_rate_text(None, 0, 0) == "暂无"
    assert (yuan(1), yuan(9000), yuan(123456789), yuan(-50)) == ("0.01", "90.00", "1,234,567.89", "-0.50")


def test_the_real_app_imports_a_roster_through_its_own_start(county, tmp_path, artifacts_dir):
    """The twin with nothing prepared: ``yikatong app`` in a fresh process, the central login, 代发 and
    导入发放名单… with the path typed into the real file dialog; the registry holds the roster's lines."""
    from test_entry_points import child_env, lines, run_child

    shots = artifacts_dir / "screens"
    done = run_child([str(HERE / "payments_driver.py"), str(tmp_path / "laptop.sqlite3"), county.url, str(shots),
                      str(CIVIL)], child_env(), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result = json.loads(lines(done.stdout, "RESULT")[0])
    assert (result["ready"], result["intercepted"], result["refused"]) == (5, 7, 0)
    assert result["interceptions"] == 7
    status = yikatong("registry", "payments", "status", "--db", county.db_url, "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["intercepted"]["count"] == 7
