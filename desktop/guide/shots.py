"""The user guide's screenshots, taken from the real app against the demo registry.

``python -m desktop.guide.shots [--out resources/guide/images] [--faces DIR]`` starts ``yikatong demo
--no-app`` (the same registry, roster and queue a new user sees), then drives the real desktop app the way
the guide tells a person to: a cadre logs in, searches, fills the form, takes the photo, saves and syncs;
central staff work the queue, compare the same-ID pair, return the cadre's record, read warnings and the
dashboard; the cadre syncs again and answers the return. Every picture the guide names (``SHOTS``) is
written; anything that does not happen as the guide says stops the run with the step that failed, so the
guide cannot silently drift from the app.

The photo comes from the shared test faces (``--faces``, else $YK_FACES_DIR, else ../shared/data/faces beside the checkout, else
/work/shared/data/faces):
the project may not ship a face of its own, so the pictures are generated where they are needed (CI, the
installer builds) and not kept in git.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from enrollment.vocabulary import FindingKind, ReviewState

# Same size as the newcomer's screenshots (issue 12): the commonest village laptop screen.
SCREEN_W, SCREEN_H = 1366, 740
DEMO_PASSWORD = "yikatong-demo"
RETURN_REASON = "证件照与本人不符，请核对后重拍"
PHOTO = "obama.jpg"
CAMERA_FRAMES = 40     # 8 s at the folder source's 5 frames a second

# name → what it shows; the guide's Markdown refers to images/<name>.png.
SHOTS: dict[str, str] = {
    "login": "登录窗口",
    "cadre-main": "第一次登录后：同步条、花名册与登记",
    "cadre-search": "花名册按拼音首字母搜索",
    "cadre-form": "从花名册打开一位居民的登记表",
    "cadre-photo-preview": "拍照：取景与提示",
    "cadre-photo-result": "拍照：原照片与换白底后的证件照",
    "cadre-form-photo": "照片已放入登记表",
    "cadre-outbox": "发送队列：等待发送",
    "cadre-synced": "同步完成后的同步条",
    "central-queue": "审核队列",
    "central-compare": "同一身份证号的两条记录并排比对",
    "central-decision": "退回修改：填写理由并再次输入密码",
    "central-warnings": "预警（记录多日未处理时）",
    "central-dashboard": "统计",
    "central-interceptions": "支付拦截：拦截原因和依据",
    "central-payments": "代发：可生成批次、发放批次和批次明细",
    "cadre-returned": "发送队列中的已退回记录和理由",
    "cadre-answer": "打开退回的记录：理由在表单顶部",
    "cadre-payment-failures": "发放失败：银行退回的补贴和请您协助的事",
}


class GuideShotError(RuntimeError):
    """A step of the guide did not happen as the guide says; the message names the step."""


def default_faces_dir() -> Path | None:
    """The shared test faces where the README's Tests section says they are."""
    here = Path(__file__).resolve().parents[2]
    for candidate in (os.environ.get("YK_FACES_DIR"), here.parent / "shared" / "data" / "faces",
                      "/work/shared/data/faces"):
        if candidate and (Path(candidate) / PHOTO).is_file():
            return Path(candidate)
    return None


class DemoRegistry:
    """``yikatong demo --no-app`` as a child process: its URL once it says it is ready."""

    def __init__(self, data_dir: Path) -> None:
        # Through the command line, as a person starts it (the desktop never imports the registry); the
        # generator runs from a source tree or a build venv, never from the frozen program.
        self.proc = subprocess.Popen([sys.executable, "-m", "cli.main", "demo", "--no-app", "--data-dir", str(data_dir)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("registry: "):
                self.url = line.split()[1]
            if line.startswith("login: "):
                break
        if not self.url:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise GuideShotError(f"the demo registry did not start: {err.strip()[-500:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Driver:
    """Drives the running app as a person does (clicks, typing) and saves what the screen shows."""

    def __init__(self, out: Path, timeout: float = 90.0) -> None:
        self.out = out
        self.timeout = timeout
        self.taken: list[str] = []

    def wait(self, what: str, ready: Callable[[], Any], timeout: float | None = None) -> None:
        from PySide6.QtCore import QEventLoop
        from PySide6.QtWidgets import QApplication

        end = time.monotonic() + (timeout or self.timeout)
        while not ready():
            if time.monotonic() > end:
                raise GuideShotError(f"timed out: {what}")
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)

    def settle(self, seconds: float = 0.3) -> None:
        """Let queued paints and timers run (a debounced search, a resized column)."""
        end = time.monotonic() + seconds
        self.wait("settle", lambda: time.monotonic() >= end)

    def click(self, widget: Any) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        if not widget.isEnabled():
            raise GuideShotError(f"{widget.text() if hasattr(widget, 'text') else widget} is not enabled")
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton)

    def shot(self, widget: Any, name: str, settle: float = 0.2) -> Path:
        if name not in SHOTS:
            raise GuideShotError(f"{name} is not a named shot")
        if settle:
            self.settle(settle)
        path = self.out / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise GuideShotError(f"could not save {path}")
        self.taken.append(name)
        return path


def _login(d: Driver, app: Any, username: str) -> None:
    w = app.login_window
    d.wait("login window shown", lambda: w.isVisible() and app.owner.is_open)
    w.username_edit.setText(username)
    w.password_edit.setText(DEMO_PASSWORD)
    d.click(w.login_button)


def _cadre_window(d: Driver, app: Any) -> Any:
    d.wait("the cadre's main window", lambda: app.main_window is not None)
    win = app.main_window
    win.resize(SCREEN_W, SCREEN_H)
    d.wait("the first sync and the roster",
           lambda: not win.sync_panel.running and len(win.roster.shown_residents()) > 0)
    return win


def _sync(d: Driver, win: Any) -> Any:
    done: list[Any] = []
    win.sync_panel.finished.connect(done.append)
    d.click(win.sync_panel.sync_button)
    d.wait("同步 finished", lambda: bool(done))
    win.sync_panel.finished.disconnect(done.append)
    report = done[0]
    if not getattr(report, "ok", False):
        raise GuideShotError(f"the sync failed: {getattr(report, 'to_dict', lambda: report)()}")
    return report


def _logout(d: Driver, app: Any) -> None:
    window = app.main_window or app.central_window
    done: list[bool] = []
    app.logged_out.connect(lambda: done.append(True))
    window.logout_action.trigger()
    d.wait("退出登录", lambda: bool(done))


def cadre_enrolls(d: Driver, app: Any) -> str:
    """First login to the synced enrollment with a photo; returns the record's id."""
    from PySide6.QtWidgets import QCheckBox, QScrollArea

    d.shot(app.login_window, "login")
    _login(d, app, "cadre")
    win = _cadre_window(d, app)
    d.shot(win, "cadre-main")

    win.roster.search_edit.setText("zhb")          # 赵海波 by the initials of his name
    d.wait("the search result", lambda: [r["name"] for r in win.roster.shown_residents()][:1] == ["赵海波"])
    d.shot(win, "cadre-search")
    tree = win.roster.tree
    item = next(tree.topLevelItem(0).child(i) for i in range(tree.topLevelItem(0).childCount())
                if tree.topLevelItem(0).child(i).text(0) == "赵海波") if tree.topLevelItem(0).childCount() \
        else tree.topLevelItem(0)
    tree.setCurrentItem(item)
    tree.itemClicked.emit(item, 0)
    form = win.form
    d.wait("the form holds 赵海波", lambda: form.name_edit.text() == "赵海波")
    form.phone_edit.setText("13333164557")
    form.consent_check.setChecked(True)
    pension = next(b for b in form.findChildren(QCheckBox) if b.text() == "城乡居民基本养老保险待遇")
    pension.setChecked(True)
    d.shot(win, "cadre-form")

    d.click(form.photo_button)
    d.wait("the capture dialog", lambda: form.capture_dialog is not None and form.capture_dialog.isVisible())
    dialog = form.capture_dialog
    # The guidance shows for well under a second before the automatic capture takes the photo: the
    # picture is taken the moment the dialog shows it.
    guided: list[str] = []

    def guidance_shown(code: str) -> None:
        if not guided:
            guided.append(code)
            d.shot(dialog, "cadre-photo-preview", settle=0)

    dialog.guidance_changed.connect(guidance_shown)
    d.wait("the face guidance", lambda: bool(guided), timeout=60)
    if dialog.pages.currentIndex() != 1:
        d.click(dialog.capture_button)
    d.wait("the card photo", lambda: dialog.pages.currentIndex() == 1 and dialog.accept_button.isEnabled(),
           timeout=120)
    d.shot(dialog, "cadre-photo-result")
    d.click(dialog.accept_button)
    d.wait("the photo in the form", lambda: form.capture_dialog is None and form.photo_button.text() == "重新拍照")
    form.findChild(QScrollArea).ensureWidgetVisible(form.photo_status)
    d.shot(win, "cadre-form-photo")

    queued: list[Any] = []
    form.queued.connect(queued.append)
    d.click(form.save_button)
    d.wait("保存并加入发送队列", lambda: bool(queued))
    record_id = str(queued[0]["record_id"])
    win.tabs.setCurrentWidget(win.outbox)
    d.wait("the outbox lists it", lambda: any(r.get("record_id") == record_id for r in win.outbox.records))
    d.shot(win, "cadre-outbox")

    report = _sync(d, win)
    if report.accepted < 1:
        raise GuideShotError("the registry did not accept the enrollment")
    win.tabs.setCurrentIndex(0)
    d.shot(win, "cadre-synced")
    _logout(d, app)
    return record_id


def _central_window(d: Driver, app: Any) -> Any:
    d.wait("the central workspace", lambda: app.central_window is not None)
    win = app.central_window
    win.resize(SCREEN_W, SCREEN_H)
    d.wait("the queue", lambda: win.queue.model.rowCount() > 0 and win.net.pending() == 0)
    return win


def _open_record(d: Driver, win: Any, record_id: str) -> Any:
    view = win.open_record(record_id)
    d.wait("the record's detail", lambda: bool(view.detail) and win.net.pending() == 0)
    return view


def central_reviews(d: Driver, app: Any, cadre_record: str) -> None:
    _login(d, app, "central")
    win = _central_window(d, app)
    d.wait("village names in the queue", lambda: all(
        not str(i.get("village_code", "")).isdigit() or win.queue.model.data(
            win.queue.model.index(0, win.queue.model.COLUMNS.index("village_code"))) != i.get("village_code")
        for i in win.queue.model.items[:1]))
    d.shot(win, "central-queue")

    same_id = [i for i in win.queue.model.items if FindingKind.SAME_ID in (i.get("finding_kinds") or [])]
    if not same_id:
        raise GuideShotError("the demo queue has no same-ID pair")
    _open_record(d, win, same_id[0]["record_id"])
    d.shot(win, "central-compare")

    view = _open_record(d, win, cadre_record)
    d.click(view.return_button)
    d.wait("the decision dialog", lambda: view.dialog is not None and view.dialog.isVisible())
    dialog = view.dialog
    dialog.reason_edit.setPlainText(RETURN_REASON)
    dialog.password_edit.setText(DEMO_PASSWORD)
    d.shot(dialog, "central-decision")
    d.click(dialog.ok_button)
    d.wait("the return reaches the registry",
           lambda: view.dialog is None and (view.detail.get("record") or {}).get("state") == ReviewState.RETURNED
           and win.net.pending() == 0)

    # Nothing in the demo is late on the day it starts: the guide shows the list as it reads a week on.
    win.warnings_at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    win.tabs.setCurrentWidget(win.warnings)
    win.refresh_warnings()
    d.wait("the warnings", lambda: win.net.pending() == 0 and win.warnings.table.rowCount() > 0)
    d.shot(win, "central-warnings")

    win.tabs.setCurrentWidget(win.dashboard)
    d.wait("the dashboard", lambda: win.net.pending() == 0 and bool(win.dashboard.data))
    d.shot(win, "central-dashboard")

    # The demo paid one batch and left the planted ineligible roster lines in 支付拦截.
    win.tabs.setCurrentWidget(win.interceptions)
    d.wait("the interceptions", lambda: win.net.pending() == 0 and win.interceptions.model.rowCount() > 0)
    win.interceptions.table.selectRow(0)
    d.wait("an interception's evidence", lambda: win.net.pending() == 0 and bool(win.interceptions.detail))
    d.shot(win, "central-interceptions")
    win.tabs.setCurrentWidget(win.payments)
    d.wait("the batches", lambda: win.net.pending() == 0 and win.payments.batches_model.rowCount() > 0)
    win.payments.batches_table.selectRow(0)
    d.wait("the batch's lines", lambda: win.net.pending() == 0 and win.payments.lines_table.rowCount() > 0)
    d.shot(win, "central-payments")
    _logout(d, app)


def cadre_answers(d: Driver, app: Any, record_id: str) -> None:
    _login(d, app, "cadre")
    win = _cadre_window(d, app)
    if _sync(d, win).returned < 1:
        raise GuideShotError("the return did not reach the laptop")
    win.tabs.setCurrentWidget(win.outbox)
    d.wait("已退回 in the outbox", lambda: any(
        r.get("record_id") == record_id and (r.get("review") or {}).get("state") == ReviewState.RETURNED
        for r in win.outbox.records))
    d.shot(win, "cadre-returned")
    row = next(i for i, r in enumerate(win.outbox.records) if r.get("record_id") == record_id)
    win.outbox.table.cellDoubleClicked.emit(row, 0)
    d.wait("the returned record in the form", lambda: win.form.record_id == record_id
           and RETURN_REASON in win.form.review_text())
    d.shot(win, "cadre-answer")

    # The demo's bank answer closed 周芳's account: her village's laptop lists it for the cadre.
    win.tabs.setCurrentWidget(win.payment_failures)
    d.wait("发放失败 on the laptop", lambda: any(r.get("needs_help") for r in win.payment_failures.rows))
    d.shot(win, "cadre-payment-failures")


def take_all(out: Path, faces: Path, work: Path) -> list[str]:
    """Run the whole guide against a fresh demo in ``work``; the pictures go to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    camera = work / "camera"
    camera.mkdir(parents=True, exist_ok=True)
    for i in range(CAMERA_FRAMES):
        shutil.copyfile(faces / PHOTO, camera / f"{i:03d}.jpg")
    # The laptop's camera is a folder of frames (a webcam cannot exist here): a few seconds of one
    # person standing still, long enough for the guidance and the automatic capture.
    os.environ["YIKATONG_CAMERA"] = str(camera)

    from PySide6.QtWidgets import QApplication

    from desktop.app import APP_NAME, DesktopApp, _install_translations
    from desktop.ui import apply_style

    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    qapp.setApplicationName(APP_NAME)
    _install_translations(qapp)
    apply_style(qapp)
    demo = DemoRegistry(work / "demo")
    app = None
    try:
        app = DesktopApp(work / "demo" / "laptop.sqlite3", demo.url, online_interval_ms=1000)
        app.show()
        d = Driver(out)
        record_id = cadre_enrolls(d, app)
        central_reviews(d, app, record_id)
        cadre_answers(d, app, record_id)
        missing = sorted(set(SHOTS) - set(d.taken))
        if missing:
            raise GuideShotError(f"not taken: {', '.join(missing)}")
        return d.taken
    finally:
        if app is not None:
            app.shutdown()
            for w in (app.central_window, app.main_window, app.login_window):
                if w is not None:
                    w.close()
        demo.stop()


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(prog="python -m desktop.guide.shots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "resources" / "guide"
                        / "images", help="where the PNG files go (default: resources/guide/images)")
    parser.add_argument("--faces", type=Path, default=None,
                        help=f"a folder with {PHOTO} (default: $YK_FACES_DIR, else the shared test faces)")
    args = parser.parse_args(argv)
    faces = args.faces or default_faces_dir()
    if faces is None or not (faces / PHOTO).is_file():
        print(f"error: guide.no_photo: no {PHOTO} found; pass --faces DIR or set YK_FACES_DIR", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="yk-guide-") as work:
        try:
            taken = take_all(args.out, faces, Path(work))
        except GuideShotError as exc:
            print(f"error: guide.step_failed: {exc}", file=sys.stderr)
            return 1
    for name in taken:
        print(args.out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
