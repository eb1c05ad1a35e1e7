"""退出登录 (issue 10): the field window and the central workspace revoke the token at the registry,
forget it on the laptop, and return to the login window. Real registry process, offscreen Qt."""

from __future__ import annotations

from central_helpers import CENTRAL_PASSWORD, setup_central
from desktop_helpers import PASSWORD, run_op
from PySide6.QtCore import Qt
from regkit import Api

from sync import protocol


def _login(qtbot, app, user: str, password: str) -> None:
    w = app.login_window
    w.username_edit.setText(user)
    w.password_edit.setText(password)
    qtbot.mouseClick(w.login_button, Qt.MouseButton.LeftButton)


def _logged_out(qtbot, app, url: str, token: str) -> None:
    qtbot.waitUntil(lambda: app.login_window.isVisible() and app.main_window is None
                    and app.central_window is None, timeout=20_000)
    assert app.login_window.password_edit.text() == ""
    assert run_op(qtbot, app.owner, lambda store: store.token()) is None
    r = Api(url, token).get(protocol.ME)
    assert r.status_code == 401 and r.json()["error"]["code"] == protocol.E_AUTH_INVALID


def test_field_logout_revokes_the_token_and_returns_to_login(qtbot, field_registry, tmp_path, start_app):
    app = start_app(tmp_path / "laptop.sqlite3", field_registry.url)
    _login(qtbot, app, "cadre1", PASSWORD)
    qtbot.waitUntil(lambda: app.main_window is not None, timeout=20_000)
    win = app.main_window
    qtbot.waitUntil(lambda: not win.sync_panel.running, timeout=30_000)
    token = run_op(qtbot, app.owner, lambda store: store.token())
    assert token and Api(field_registry.url, token).get(protocol.ME).status_code == 200
    assert win.logout_action.text() == "退出登录"
    win.logout_action.trigger()
    _logged_out(qtbot, app, field_registry.url, token)
    # The cached credential still logs in again.
    _login(qtbot, app, "cadre1", PASSWORD)
    qtbot.waitUntil(lambda: app.main_window is not None, timeout=20_000)


def test_central_logout_revokes_the_token_and_returns_to_login(qtbot, registry, tmp_path, start_app):
    central = setup_central(registry, tmp_path)
    app = start_app(tmp_path / "laptop.sqlite3", central.url, 500)
    _login(qtbot, app, "central1", CENTRAL_PASSWORD)
    qtbot.waitUntil(lambda: app.central_window is not None, timeout=20_000)
    token = run_op(qtbot, app.owner, lambda store: store.token())
    assert token and Api(central.url, token).get(protocol.ME).status_code == 200
    app.central_window.logout_action.trigger()
    _logged_out(qtbot, app, central.url, token)


def test_logout_switches_user_on_the_same_laptop(qtbot, registry, tmp_path, start_app):
    """退出登录 really switches user: a cadre logs out, central staff log in on the same laptop and get the
    审核工作台, log out, and another cadre gets the field window under their own name."""
    from central_helpers import CADRE_PASSWORD

    central = setup_central(registry, tmp_path)
    app = start_app(tmp_path / "laptop.sqlite3", central.url, 500)
    _login(qtbot, app, "cadre_a", CADRE_PASSWORD)
    qtbot.waitUntil(lambda: app.main_window is not None, timeout=20_000)
    qtbot.waitUntil(lambda: not app.main_window.sync_panel.running, timeout=30_000)
    assert app.main_window.login["operator"]["username"] == "cadre_a"
    app.main_window.logout_action.trigger()
    qtbot.waitUntil(lambda: app.login_window.isVisible() and app.main_window is None, timeout=20_000)

    _login(qtbot, app, "central1", CENTRAL_PASSWORD)
    qtbot.waitUntil(lambda: app.central_window is not None, timeout=20_000)
    assert app.main_window is None
    app.central_window.logout_action.trigger()
    qtbot.waitUntil(lambda: app.login_window.isVisible() and app.central_window is None, timeout=20_000)

    _login(qtbot, app, "cadre_b", CADRE_PASSWORD)
    qtbot.waitUntil(lambda: app.main_window is not None, timeout=20_000)
    assert app.main_window.login["operator"]["username"] == "cadre_b"
    assert run_op(qtbot, app.owner, lambda store: store.operator())["username"] == "cadre_b"
