"""The registry answers 500 or 503: the cadre reads 登记中心出错, not 无法连接 (the network is fine).

500: a real registry process whose database loses a table under it, so a push fails inside the
registry and its internal-error path answers 500 ``server.internal``. The registry itself never
answers 503 on the sync endpoints, so the 503 comes from a real load-balancer process in front of
the real registry (``balancer_child.py``) switched to maintenance: 503 with no JSON body.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from desktop_helpers import login_cadre, run_op
from PySide6.QtCore import Qt, QTimer

from desktop.errors import describe
from enrollment.errors import Kind
from sync import protocol
from sync.http import RegistryHttp, TransportError

HERE = Path(__file__).resolve().parent


def _login(qtbot, app) -> object:
    return login_cadre(qtbot, app)


def _enroll_one(qtbot, win) -> None:
    chen = next(r for r in win.roster.shown_residents() if r["name"] == "陈芳")
    win.roster.member_selected.emit(chen)
    win.form.consent_check.click()
    with qtbot.waitSignal(win.form.queued, timeout=10_000):
        qtbot.mouseClick(win.form.save_button, Qt.MouseButton.LeftButton)


def _sync_summary(qtbot, win) -> str:
    with qtbot.waitSignal(win.sync_panel.finished, timeout=90_000):
        qtbot.mouseClick(win.sync_panel.sync_button, Qt.MouseButton.LeftButton)
    return win.sync_panel.summary_label.text()


@pytest.fixture
def balancer(field_registry, tmp_path):
    flag = tmp_path / "maintenance"
    proc = subprocess.Popen([sys.executable, str(HERE / "balancer_child.py"), field_registry.url, str(flag)],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("port "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}", flag
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_registry_500_reads_as_the_registry_failing(qtbot, field_registry, tmp_path, start_app):
    app = start_app(tmp_path / "laptop.sqlite3", field_registry.url)
    win = _login(qtbot, app)
    _enroll_one(qtbot, win)

    # The registry's database loses the pull counter under the running registry: every new
    # version's push now fails inside the registry.
    db_path = urlsplit(field_registry.db_url).path
    with sqlite3.connect(db_path) as db:
        db.execute("ALTER TABLE server_counter RENAME TO server_counter_lost")

    summary = _sync_summary(qtbot, win)
    report = win.sync_panel.report
    assert report.error_code == "sync.server_error" and report.retries > 0 and report.accepted == 0
    assert summary.startswith("登记中心出错"), summary
    assert "无法连接" not in summary and "连接不上" not in summary

    # The exception the real HTTP client raises for that answer, worded on its own.
    token, device, item = run_op(qtbot, app.owner,
                                 lambda s: (s.token(), s.device_id, s.records_to_send(1)[0]["item"]))
    with RegistryHttp(field_registry.url, token) as http, pytest.raises(TransportError) as e:
        # the laptop's own device: a token is bound to the device it was issued to (issue 10)
        http.request("POST", protocol.PUSH, json={"device_id": device, "records": [item]})
    assert (e.value.kind, e.value.status, e.value.registry_code) == (Kind.SERVER_ERROR, 500, "server.internal")
    assert describe(e.value).startswith("登记中心出错")


def test_registry_503_behind_a_load_balancer_reads_as_the_registry_failing(
        qtbot, balancer, tmp_path, start_app):
    url, maintenance = balancer
    app = start_app(tmp_path / "laptop.sqlite3", url)
    win = _login(qtbot, app)  # through the balancer to the real registry
    _enroll_one(qtbot, win)

    maintenance.touch()
    seen: set[str] = set()     # what the cadre reads while the sync waits to retry
    watch = QTimer()
    watch.timeout.connect(lambda: seen.add(win.sync_panel.phase_label.text()))
    watch.start(20)
    summary = _sync_summary(qtbot, win)
    watch.stop()
    assert any(t.startswith("登记中心出错，稍后自动重试") for t in seen), seen
    assert not any(t.startswith("网络中断") for t in seen), seen
    report = win.sync_panel.report
    assert report.error_code == "sync.server_error" and report.retries > 0 and report.accepted == 0
    assert summary.startswith("登记中心出错"), summary
    assert "无法连接" not in summary and "连接不上" not in summary

    with RegistryHttp(url) as http, pytest.raises(TransportError) as e:
        http.request("GET", protocol.HEALTH)
    assert (e.value.kind, e.value.status) == (Kind.SERVER_ERROR, 503)
    assert describe(e.value).startswith("登记中心出错")

    maintenance.unlink()  # back from maintenance: the same record goes through
    summary = _sync_summary(qtbot, win)
    assert win.sync_panel.report.accepted == 1, summary
