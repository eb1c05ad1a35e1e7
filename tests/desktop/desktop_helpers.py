"""Helpers for the desktop tests (a module name of its own, so pytest's rootdir imports find it)."""

from __future__ import annotations

import datetime as dt

from enrollment import id_number as idn

VILLAGE = "510903102201"
VILLAGE_NAME = "大石村"
PASSWORD = "cadre-pass-1"

# (name, relation as the household register writes it, household, sex sequence, birth) — one name
# outside the BMP (𠈌).
_PEOPLE = [
    ("张三", "户主", "H001", 11, dt.date(1968, 3, 14)),
    ("李秀英", "妻", "H001", 22, dt.date(1970, 7, 2)),
    ("张小明", "长子", "H001", 31, dt.date(1995, 11, 30)),
    ("王𠈌", "户主", "H002", 41, dt.date(1955, 1, 9)),
    ("赵丽", "妻", "H002", 52, dt.date(1958, 6, 21)),
    ("刘建国", "户主", "H003", 61, dt.date(1980, 5, 1)),
    ("陈芳", "长女", "H003", 72, dt.date(2004, 9, 18)),
]


def roster_rows() -> list[dict[str, str]]:
    rows = []
    for name, rel, hh, seq, birth in _PEOPLE:
        number = idn.make("510903", birth, seq)
        rows.append({
            "id_number": number, "name": name, "sex": "男" if seq % 2 else "女",
            "birth_date": birth.isoformat(), "household_id": hh, "relation": rel,
            "address": f"四川省遂宁市船山区大石村{hh[-1]}组", "phone": "",
        })
    return rows


def write_roster_csv(path) -> None:
    import csv

    rows = roster_rows()
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def run_op(qtbot, owner, fn, timeout=10_000):
    """Run fn(store) on the store thread and return its result (test helper)."""
    box = {}
    owner.op(fn).success(lambda r: box.setdefault("ok", r)).failure(lambda e: box.setdefault("err", e)).run()
    qtbot.waitUntil(lambda: bool(box), timeout=timeout)
    if "err" in box:
        raise box["err"]
    return box["ok"]


def type_text(qtbot, widget, text: str) -> None:
    """Type like a person: ASCII as key clicks, Chinese committed by the input method (as an IME does)."""
    from PySide6.QtGui import QInputMethodEvent
    from PySide6.QtWidgets import QApplication

    widget.setFocus()
    run = ""
    for ch in text:
        if ch.isascii():
            run += ch
            continue
        if run:
            qtbot.keyClicks(widget, run)
            run = ""
        event = QInputMethodEvent("", [])
        event.setCommitString(ch)
        QApplication.sendEvent(widget, event)
    if run:
        qtbot.keyClicks(widget, run)


def login_cadre(qtbot, app, *, wait_online: bool = False):
    """Log cadre1 in through the login window as a person does; return the main window (1366×740) once the
    first sync brought the seven-person roster (and, asked for, once it shows 在线)."""
    from PySide6.QtCore import Qt

    w = app.login_window
    w.username_edit.setText("cadre1")
    w.password_edit.setText(PASSWORD)
    qtbot.mouseClick(w.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.main_window is not None, timeout=20_000)
    win = app.main_window
    qtbot.addWidget(win)
    win.resize(1366, 740)
    qtbot.waitUntil(lambda: not win.sync_panel.running and len(win.roster.shown_residents()) == 7, timeout=30_000)
    if wait_online:
        qtbot.waitUntil(lambda: win.is_online_shown(), timeout=10_000)
    return win
