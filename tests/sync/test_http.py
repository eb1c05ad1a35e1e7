"""RegistryHttp against small real HTTP servers on 127.0.0.1: what counts as an answer."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fieldkit import enrollment_fields, person

from sync import protocol
from sync.client import SyncClient, check_online
from sync.http import ApiError, RegistryHttp, TransportError
from sync.store import Store


class Handler(BaseHTTPRequestHandler):
    routes: dict = {}
    seen: list = []

    def log_message(self, *args):  # keep test output clean
        pass

    def _answer(self):
        self.seen.append((self.command, self.path, dict(self.headers)))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status, ctype, body, delay = self.routes.get(self.path.split("?")[0], (404, "text/plain", b"nope", 0))
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer


@pytest.fixture
def server():
    routes: dict = {}
    seen: list = []
    handler = type("H", (Handler,), {"routes": routes, "seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.routes, httpd.seen = routes, seen
    yield httpd
    httpd.shutdown()
    httpd.server_close()


PORTAL = (200, "text/html; charset=utf-8", "<html><body>请先登录 Wi-Fi</body></html>".encode(), 0)


def test_captive_portal_200_html_is_not_an_answer(server):
    """A 200 text/html page (a captive portal) raises TransportError, never passes as the registry's answer."""
    server.routes["/api/health"] = PORTAL
    with RegistryHttp(server.url) as http, pytest.raises(TransportError) as e:
        http.request("GET", protocol.HEALTH)
    assert e.value.status == 200
    assert check_online(server.url) is False


def test_json_that_is_not_ours_and_5xx_are_transport_errors(server):
    """A JSON array, a 502 HTML page and a 503 in our error shape are all TransportError (retryable)."""
    server.routes["/a"] = (200, "application/json", b"[1, 2]", 0)
    server.routes["/b"] = (502, "text/html", b"<h1>Bad Gateway</h1>", 0)
    server.routes["/c"] = (503, "application/json",
                           json.dumps(protocol.error_body("server.internal", "busy")).encode(), 0)
    server.routes["/d"] = (403, "text/html", b"<h1>blocked by proxy</h1>", 0)
    with RegistryHttp(server.url) as http:
        for path in ("/a", "/b", "/c", "/d"):
            with pytest.raises(TransportError):
                http.request("GET", path)


def test_registry_error_shape_becomes_api_error(server):
    """A 4xx in the registry's one JSON error shape is an ApiError with status, code, message, field and data."""
    body = protocol.error_body(protocol.E_VILLAGE, "not yours", field="village_code", village_code="510903102299")
    server.routes["/api/sync/push"] = (403, "application/json", json.dumps(body).encode(), 0)
    with RegistryHttp(server.url, token="tok-1") as http, pytest.raises(ApiError) as e:
        http.request("POST", protocol.PUSH, json={"records": []})
    err = e.value
    assert (err.status, err.code, err.message, err.field) == (403, protocol.E_VILLAGE, "not yours", "village_code")
    assert err.data == {"village_code": "510903102299"}
    _method, _path, headers = server.seen[-1]
    assert headers[protocol.VERSION_HEADER] == str(protocol.PROTOCOL_VERSION)
    assert headers["Authorization"] == "Bearer tok-1"


def test_read_timeout_and_refused_connection_are_transport_errors(server):
    """A server slower than the read timeout, and a port nobody listens on, raise TransportError promptly."""
    server.routes["/slow"] = (200, "application/json", b"{}", 2.0)
    with RegistryHttp(server.url, timeout=(1.0, 0.2)) as http:
        t0 = time.monotonic()
        with pytest.raises(TransportError) as e:
            http.request("GET", "/slow")
        assert time.monotonic() - t0 < 1.5 and "timeout" in e.value.message
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with RegistryHttp(f"http://127.0.0.1:{dead}", timeout=(0.5, 0.5)) as http, pytest.raises(TransportError):
        http.request("GET", protocol.HEALTH)


def test_sync_behind_a_captive_portal_accepts_nothing(server, tmp_path):
    """Behind a portal that answers every request with 200 HTML, the sync ends with a network error and no record is accepted."""
    for path in (protocol.HEALTH, protocol.PUSH, protocol.PULL, protocol.DIGEST, protocol.BLOB_STATUS):
        server.routes[path] = PORTAL
    store = Store.open(tmp_path / "laptop.sqlite3")
    store.save_login(server.url, "c", "pw", {"token": "t", "operator": {"villages": []}})
    rid = store.enroll(enrollment_fields(person(1)))
    waits: dict[int, float] = {}

    def count_waits(step):
        if step.phase == "waiting":  # retry waits arrive in slices; sum them per attempt
            waits[step.done] = waits.get(step.done, 0) + step.wait_s

    report = SyncClient(store, sleep=lambda s: None, max_retries=2, rng=lambda: 1.0).run(count_waits)
    assert report.error_code == "sync.network" and report.accepted == 0 and not report.ok
    assert waits == {1: 0.5, 2: 1.0}  # exponential backoff: base 0.5 s, doubled, jitter pinned at its top
    assert store.get_record(rid)["state"] == "queued"
    store.close()
