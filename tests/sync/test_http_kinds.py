"""RegistryHttp sets an Unavailable's kind from the exception type and the status, never from text;
a 4xx in the registry's shape is a Refusal. Small real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fieldkit import enrollment_fields, person

from enrollment.errors import Kind, Refusal, Unavailable
from sync import protocol
from sync.client import SyncClient
from sync.http import ApiError, RegistryHttp, TransportError
from sync.store import Store


def _routes_server(routes: dict):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, ctype, body, delay = routes.get(self.path.split("?")[0], (404, "text/plain", b"nope", 0))
            if delay:
                time.sleep(delay)
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    return httpd


@pytest.fixture
def routes():
    table: dict = {}
    httpd = _routes_server(table)
    table["url"] = httpd.url
    yield table
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raised(url: str, path: str, timeout=(2.0, 2.0)) -> BaseException:
    with RegistryHttp(url, timeout=timeout) as http:
        with pytest.raises((TransportError, ApiError)) as e:
            http.request("GET", path)
    return e.value


INTERNAL = json.dumps(protocol.error_body(protocol.E_INTERNAL, "internal server error")).encode()


def test_timeout_is_kind_timeout(routes):
    routes["/slow"] = (200, "application/json", b"{}", 1.5)
    err = _raised(routes["url"], "/slow", timeout=(0.5, 0.3))
    assert isinstance(err, TransportError) and isinstance(err, Unavailable)
    assert err.kind is Kind.TIMEOUT and err.code == "network.timeout" and err.status is None


def test_refused_connection_on_a_closed_port_is_kind_unreachable():
    err = _raised(f"http://127.0.0.1:{_closed_port()}", protocol.HEALTH, timeout=(0.5, 0.5))
    assert isinstance(err, TransportError) and err.kind is Kind.UNREACHABLE and err.code == "network.unreachable"


def test_500_in_the_registry_shape_is_kind_server_error_with_the_registry_code(routes):
    routes["/boom"] = (500, "application/json", INTERNAL, 0)
    err = _raised(routes["url"], "/boom")
    assert isinstance(err, TransportError) and err.kind is Kind.SERVER_ERROR
    assert (err.status, err.registry_code, err.code) == (500, "server.internal", "network.server_error")


@pytest.mark.parametrize("ctype, body", [(None, b""), ("text/html", b"<h1>503 Service Unavailable</h1>")],
                         ids=["empty", "html"])
def test_503_from_a_load_balancer_is_kind_server_error(routes, ctype, body):
    routes["/lb"] = (503, ctype, body, 0)
    err = _raised(routes["url"], "/lb")
    assert isinstance(err, TransportError) and err.kind is Kind.SERVER_ERROR
    assert (err.status, err.registry_code) == (503, None)


def test_200_html_is_kind_bad_response(routes):
    routes["/portal"] = (200, "text/html; charset=utf-8", "<html>请先登录 Wi-Fi</html>".encode(), 0)
    routes["/array"] = (200, "application/json", b"[1]", 0)
    routes["/proxy403"] = (403, "text/html", b"<h1>blocked</h1>", 0)
    for path in ("/portal", "/array", "/proxy403"):
        err = _raised(routes["url"], path)
        assert isinstance(err, TransportError) and err.kind is Kind.BAD_RESPONSE, path


def test_4xx_in_the_registry_shape_is_a_refusal(routes):
    body = protocol.error_body(protocol.E_REVIEW_STALE, "newer", field="version", current_version=3)
    routes["/stale"] = (409, "application/json", json.dumps(body).encode(), 0)
    err = _raised(routes["url"], "/stale")
    assert isinstance(err, ApiError) and isinstance(err, Refusal) and not isinstance(err, Unavailable)
    assert (err.status, err.code, err.message, err.field, err.data) == (
        409, protocol.E_REVIEW_STALE, "newer", "version", {"current_version": 3})


def test_a_sync_against_a_503_retries_then_reports_a_server_error(routes, tmp_path):
    """5xx is retried with backoff like a network error, but the report says the registry failed."""
    for path in (protocol.HEALTH, protocol.PUSH, protocol.PULL, protocol.DIGEST, protocol.BLOB_STATUS):
        routes[path] = (503, "text/plain", b"Service Unavailable", 0)
    store = Store.open(tmp_path / "laptop.sqlite3")
    store.save_login(routes["url"], "c", "pw", {"token": "t", "operator": {"villages": []}})
    rid = store.enroll(enrollment_fields(person(1)))
    reasons = set()
    report = SyncClient(store, sleep=lambda s: None, max_retries=2, rng=lambda: 1.0).run(
        lambda step: reasons.add(step.reason) if step.phase == "waiting" else None)
    assert report.error_code == "sync.server_error" and report.retries == 2 and not report.ok
    assert reasons == {"network.server_error"}
    assert store.get_record(rid)["state"] == "queued"
    store.close()
