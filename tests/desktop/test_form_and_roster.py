"""Roster search and the enrollment form, on a real laptop store (no registry needed)."""

from __future__ import annotations

from desktop_helpers import VILLAGE, roster_rows, run_op, type_text
from PySide6.QtCore import Qt

from desktop.enrollment_form import EnrollmentForm
from desktop.roster import RosterView
from enrollment import id_number as idn


def _fill_roster(qtbot, owner):
    rows = [{**r, "village_code": VILLAGE} for r in roster_rows()]
    run_op(qtbot, owner, lambda s: s.upsert_residents(rows, 1))
    return rows


def _names(view: RosterView) -> list[str]:
    return [r["name"] for r in view.shown_residents()]


def test_roster_search_as_you_type(qtbot, owner, screens):
    """Typing in the search box filters households → members by name, pinyin initials and ID number; the
    hits sit under their household named by its head."""
    rows = _fill_roster(qtbot, owner)
    view = RosterView(owner)
    qtbot.addWidget(view)
    view.resize(620, 560)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.set_villages([{"code": VILLAGE, "name": "大石村"}])
    assert len(_names(view)) == len(rows)
    assert view.tree.topLevelItemCount() == 3
    screens(view, "roster")

    type_text(qtbot, view.search_edit, "张")
    qtbot.waitUntil(lambda: view.is_current() and sorted(_names(view)) == ["张三", "张小明"], timeout=5000)

    view.search_edit.clear()
    qtbot.keyClicks(view.search_edit, "lxy")  # initials of 李秀英
    qtbot.waitUntil(lambda: view.is_current() and _names(view) == ["李秀英"], timeout=5000)
    # a hit that is not the head is shown under the household named by its head (张三家), not by the hit
    assert view.tree.topLevelItem(0).text(0).startswith("张三家（户号 H001，"), view.tree.topLevelItem(0).text(0)

    view.search_edit.clear()
    wang = next(r for r in rows if r["name"] == "王𠈌")
    qtbot.keyClicks(view.search_edit, wang["id_number"][-8:])
    qtbot.waitUntil(lambda: view.is_current() and _names(view) == ["王𠈌"], timeout=5000)
    screens(view, "roster_search")

    seen = []
    view.member_selected.connect(seen.append)
    item = view.tree.topLevelItem(0).child(0)
    view.tree.itemClicked.emit(item, 0)
    assert seen and seen[0]["name"] == "王𠈌"


def _valid_id() -> str:
    import datetime as dt

    return idn.make("510921", dt.date(1988, 8, 8), 123)  # 蓬溪县: no region warning


def test_form_shows_id_error_at_the_field_and_save_queues(qtbot, owner, screens):
    """A wrong check character is shown under the ID field as the user types, fixing it clears the
    error and fills sex and birth date, the draft is autosaved, and Save queues a validated record."""
    form = EnrollmentForm(owner)
    form.village_code = VILLAGE
    qtbot.addWidget(form)
    form.resize(820, 700)
    form.show()

    good = _valid_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    form.id_edit.setFocus()
    qtbot.keyClicks(form.id_edit, bad)
    assert form.error_text("id_number") == "身份证号码校验位不正确，请逐位核对"
    assert "校验位" in form.id_edit.toolTip()
    type_text(qtbot, form.name_edit, "周𠈌")
    qtbot.waitUntil(lambda: form.record_id is not None and not form.saving(), timeout=5000)
    screens(form, "form_error")

    form.id_edit.selectAll()
    qtbot.keyClicks(form.id_edit, good)
    assert form.error_text("id_number") == ""
    assert form.sex_combo.currentData() == "男"
    assert form.birth_edit.text() == "1988-08-08"

    # an incomplete form: Save shows every missing item at its field and saves nothing to the queue
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert form.error_text("consent").startswith("需要本人同意")
    assert form.error_text("relation") == "请选择与户主关系"

    qtbot.keyClicks(form.household_edit, "H009")
    form.relation_combo.setCurrentIndex(form.relation_combo.findData("02"))
    form.relation_combo.activated.emit(form.relation_combo.currentIndex())
    qtbot.keyClicks(form.phone_edit, "1381234567")
    form.phone_edit.editingFinished.emit()
    assert form.error_text("phone") == "手机号码应为11位数字，以1开头"
    qtbot.keyClicks(form.phone_edit, "8")
    assert form.error_text("phone") == ""
    form.consent_check.click()  # (may be scrolled out of view: click() is what a mouse click emits)
    assert form.consent_check.isChecked()

    rid = form.record_id
    qtbot.waitUntil(lambda: not form.saving(), timeout=5000)
    draft = run_op(qtbot, owner, lambda s: s.get_record(rid))
    assert draft["state"] == "draft" and draft["fields"]["name"] == "周𠈌"
    assert draft["fields"]["phone"] == "13812345678"  # autosaved, before Save was pressed

    with qtbot.waitSignal(form.queued, timeout=5000) as queued:
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert queued.args[0]["record_id"] == rid
    rec = run_op(qtbot, owner, lambda s: s.get_record(rid))
    assert rec["state"] == "queued"
    assert rec["payload"]["name"] == "周𠈌" and rec["payload"]["id_number"] == good
    assert form.record_id is None and form.id_edit.text() == ""  # ready for the next resident


def test_region_warning_needs_confirmation(qtbot, owner):
    """An ID number whose region code is unknown shows a confirm checkbox, and Save refuses until it is ticked."""
    import datetime as dt

    form = EnrollmentForm(owner)
    form.village_code = VILLAGE
    qtbot.addWidget(form)
    form.show()
    number = idn.make("519999", dt.date(1990, 1, 1), 222)
    qtbot.keyClicks(form.id_edit, number)
    assert not form.region_box.isHidden()
    assert "地区代码" in form.region_label.text()
    type_text(qtbot, form.name_edit, "吴敏")
    qtbot.keyClicks(form.household_edit, "H010")
    form.relation_combo.setCurrentIndex(form.relation_combo.findData("02"))
    form.consent_check.setChecked(True)
    form.save()
    assert "地区代码" in form.error_text("id_number")
    form.region_check.setChecked(True)
    with qtbot.waitSignal(form.queued, timeout=5000) as queued:
        form.save()
    rec = run_op(qtbot, owner, lambda s: s.get_record(queued.args[0]["record_id"]))
    assert rec["payload"]["confirmed_warnings"] == ["id_number.region_unknown"]


def test_form_tab_order_follows_the_reading_order(qtbot, owner):
    """Tab from 身份证号码 goes to 姓名, then down the left column and on to the right one (a name typed
    after Tab lands in 姓名, not in 户号)."""
    form = EnrollmentForm(owner)
    qtbot.addWidget(form)
    form.show()
    order = []
    widget = form.id_edit
    for _ in range(8):
        order.append(widget.objectName())
        widget = widget.nextInFocusChain()
        # an editable combo's own line edit follows it in the chain: part of the same field
        while (not (widget.focusPolicy() & Qt.FocusPolicy.TabFocus) or not widget.isVisible()
               or widget.parentWidget() is form.relation_combo):
            widget = widget.nextInFocusChain()
    assert order == ["id_number", "name", "sex", "birth_date", "household_id", "relation", "phone", "address"]


def test_login_starts_in_the_user_name_with_one_title(qtbot, owner):
    """The login window opens with the cursor in 用户名 and its title names the app once."""
    from PySide6.QtWidgets import QApplication

    from desktop.login import LoginWindow

    w = LoginWindow(owner, "http://127.0.0.1:1")
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.username_edit, timeout=3000)
    assert w.windowTitle() == "一卡通 登记 — 登录"


def test_clearing_an_erased_form_leaves_no_empty_draft(qtbot, owner):
    """A name typed (autosaved as a draft), then erased, then 清空表单: no empty draft is left for 发送队列;
    a form with something typed keeps its draft."""
    form = EnrollmentForm(owner)
    form.village_code = VILLAGE
    qtbot.addWidget(form)
    form.show()
    with qtbot.waitSignal(form.draft_saved, timeout=5000):
        type_text(qtbot, form.name_edit, "张三")
        form.flush()
    form.name_edit.selectAll()
    qtbot.keyClick(form.name_edit, Qt.Key.Key_Backspace)
    assert form.name_edit.text() == ""
    qtbot.mouseClick(form.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: run_op(qtbot, owner, lambda s: s.list_records("draft")) == [], timeout=5000)

    with qtbot.waitSignal(form.draft_saved, timeout=5000):
        type_text(qtbot, form.name_edit, "李四")
        form.flush()
    qtbot.mouseClick(form.clear_button, Qt.MouseButton.LeftButton)
    drafts = run_op(qtbot, owner, lambda s: s.list_records("draft"))
    assert [d["name"] for d in drafts] == ["李四"]
