"""发起远程核验 on the field screens against a real registry process: the button is enabled only online
with a member chosen, and the dialog shows the link, the SMS text and the QR code the registry made."""

from __future__ import annotations

from desktop_helpers import PASSWORD, VILLAGE, login_cadre, roster_rows, run_op, type_text
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from desktop.review_labels import vocabulary_name
from desktop.roster import RosterView
from desktop.verification.labels import beijing_day
from desktop.verification.request_dialog import RequestVerificationDialog
from enrollment.vocabulary import ChallengeAction
from sync.client import SyncClient, login_online


def _item(view: RosterView, id_number: str):
    tree = view.tree
    return next(tree.topLevelItem(i).child(j) for i in range(tree.topLevelItemCount())
                for j in range(tree.topLevelItem(i).childCount())
                if tree.topLevelItem(i).child(j).text(1) == id_number)


def test_request_button_needs_a_member_and_the_registry(qtbot, owner):
    """The button stays disabled offline or with nobody chosen, and asks for the chosen member when enabled."""
    rows = [{**r, "village_code": VILLAGE} for r in roster_rows()]
    run_op(qtbot, owner, lambda s: s.upsert_residents(rows, 1))
    view = RosterView(owner)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.set_villages([{"code": VILLAGE, "name": "大石村"}])
    view.set_online(True)
    assert not view.verify_button.isEnabled()
    view.tree.itemClicked.emit(_item(view, rows[1]["id_number"]), 0)
    assert view.verify_button.isEnabled()
    view.set_online(False)
    assert not view.verify_button.isEnabled()
    view.set_online(True)
    with qtbot.waitSignal(view.verification_requested, timeout=2000) as asked:
        qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    assert asked.args[0]["id_number"] == rows[1]["id_number"]


def test_dialog_creates_a_request_and_shows_link_sms_and_qr(qtbot, owner, field_registry, screens):
    """The dialog asks the registry off the UI thread, shows the link, the SMS text (copied by its button),
    the QR code and the offline video path's instruction with the request's digits and actions, and the next
    sync brings the request into the laptop store with its city and video challenge."""
    run_op(qtbot, owner, lambda s: login_online(s, field_registry.url, "cadre1", PASSWORD))
    zhang = roster_rows()[0]
    dialog = RequestVerificationDialog(owner, zhang)
    qtbot.addWidget(dialog)
    dialog.show()
    type_text(qtbot, dialog.city_edit, "深圳")
    with qtbot.waitSignal(dialog.created, timeout=15_000) as made:
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    created = made.args[0]
    assert "/verify?t=" in dialog.link_edit.text() and created.token in dialog.link_edit.text()
    assert dialog.sms_edit.toPlainText() == created.sms_text and created.link in created.sms_text
    assert dialog.qr.renderer().isValid()
    # The offline path's instruction, for a worker who cannot open the link: the request's digits and actions.
    challenge = created.request["video_challenge"]
    instruction = dialog.video_edit.toPlainText()
    assert instruction.startswith("如果打不开链接：请录一段 10 秒左右的视频，正对镜头，先念出数字 "
                                  + " ".join(challenge["digits"]) + "，再")
    assert instruction.endswith("然后把视频发给村干部。") and dialog.video_edit.isVisibleTo(dialog)
    assert all(vocabulary_name(a, ChallengeAction) in instruction for a in challenge["actions"])
    assert not dialog.send_button.isEnabled()
    assert f"{beijing_day(created.expires_at)}前有效" in dialog.status_label.text()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == created.sms_text
    qtbot.mouseClick(dialog.copy_video_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == instruction
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    screens(dialog, "verification_request_dialog")

    report = run_op(qtbot, owner, lambda s: SyncClient(s).run(), timeout=30_000)
    assert report.ok, report
    kept = run_op(qtbot, owner, lambda s: s.verifications_for(zhang["id_number"]))
    assert [(v["request"], v["state"], v["city"]) for v in kept] == [(created.request["request"], "sent", "深圳")]
    assert kept[0]["video_challenge"] == challenge
    dialog.done(0)


def test_dialog_words_a_refusal_in_chinese(qtbot, owner, field_registry):
    """A resident the registry does not know for this cadre gets the Chinese wording and the button back."""
    run_op(qtbot, owner, lambda s: login_online(s, field_registry.url, "cadre1", PASSWORD))
    stranger = {"name": "路人", "id_number": "110101199003070035"}
    dialog = RequestVerificationDialog(owner, stranger)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.failed, timeout=15_000):
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    assert "不能发起远程核验" in dialog.status_label.text()
    assert dialog.send_button.isEnabled() and not dialog.result_box.isVisibleTo(dialog)
    dialog.done(0)


def test_app_requests_a_verification_for_the_chosen_member_and_the_sync_shows_it(qtbot, field_registry, tmp_path,
                                                                                  start_app, screens):
    """In the whole app: choose a member, 发起远程核验 opens the dialog for them, the link is made, and after
    the next sync the roster's 远程核验 column says 已发送链接; closing the window with the dialog open stops
    the dialog's lane."""
    app = start_app(tmp_path / "laptop.sqlite3", field_registry.url)
    win = login_cadre(qtbot, app, wait_online=True)
    zhang = roster_rows()[0]
    win.roster.tree.itemClicked.emit(_item(win.roster, zhang["id_number"]), 0)
    qtbot.mouseClick(win.roster.verify_button, Qt.MouseButton.LeftButton)
    dialog = win.verification_dialog
    assert dialog is not None and dialog.resident["id_number"] == zhang["id_number"]
    type_text(qtbot, dialog.city_edit, "东莞")
    with qtbot.waitSignal(dialog.created, timeout=15_000):
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    win.sync_panel.start()
    qtbot.waitUntil(lambda: not win.sync_panel.running, timeout=30_000)
    win.roster.refresh()
    qtbot.waitUntil(lambda: _item(win.roster, zhang["id_number"]).text(5).startswith("已发送链接"), timeout=10_000)
    screens(win, "main_roster_verification_sent")
    lane = dialog._lane
    assert lane.running()
    win.close()
    assert not lane.running() and win.verification_dialog is None
