"""``yikatong registry serve-verify``: the public verification process serves the worker's page, its
API and health on the registry's database, and nothing else: every sync, staff and review route is 404."""

from __future__ import annotations

import httpx
import pytest
from regkit import HEADERS
from verifykit import Env

from registry.launcher import RegistryProcess
from sync import protocol

SAMPLE = {"record_id": "00000000-0000-0000-0000-000000000000", "sha256": "0" * 64, "attempt": "a1", "seq": "0",
          "request": "00000000-0000-0000-0000-000000000001", "batch_id": "00000000-0000-0000-0000-000000000002",
          "entitlement_id": "1", "import_id": "1"}


def protocol_routes() -> list[tuple[str, str]]:
    """(method, path) of every route of the main registry, from the app itself."""
    from sqlalchemy import create_engine

    from registry.api import create_app

    engine = create_engine("sqlite://")
    try:
        app = create_app(engine).app
    finally:
        engine.dispose()
    return sorted({(m, r.path) for r in app.routes for m in (getattr(r, "methods", None) or ()) if m != "HEAD"})


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_verify_exposes_only_the_page_its_api_and_health(registry_db_url, tmp_path):
    """Through serve-verify, every route that is not the page, its API or health answers 404 (with or
    without a token and version header), the API description is absent, and a link made by the main
    registry unlocks there (same database)."""
    env = Env(registry_db_url)
    token = env.link_token()
    bearer = env.bearer("central")
    id_tail = env.id_number[-6:]
    env.close()
    public = {("GET", protocol.VERIFY_PAGE), ("GET", protocol.VERIFY_APP_JS), ("GET", protocol.VERIFY_APP_CSS),
              ("POST", protocol.VERIFY_UNLOCK), ("POST", protocol.VERIFY_CONSENT), ("POST", protocol.VERIFY_ATTEMPTS),
              ("PUT", protocol.VERIFY_FRAME), ("POST", protocol.VERIFY_FINISH), ("GET", protocol.HEALTH)}
    proc = RegistryProcess(registry_db_url, tmp_path, command="serve-verify").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as http:
            hidden = [(m, p) for m, p in protocol_routes() if (m, p) not in public]
            assert len(hidden) > 20
            for method, path in hidden:
                url = path.format(**SAMPLE)
                for headers in ({}, {**HEADERS, **bearer}):
                    r = http.request(method, url, headers=headers, json={} if method in ("POST", "PUT") else None)
                    assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert http.get("/openapi.json").status_code == 404
            assert http.get(protocol.HEALTH).status_code == 200
            page = http.get(protocol.VERIFY_PAGE, params={"t": token})
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            r = http.post(protocol.VERIFY_UNLOCK, json={"token": token, "id_tail": id_tail})
            assert r.status_code == 200 and r.json()["state"] == "opened"
    finally:
        proc.stop()
    log = proc.log_path.read_text(encoding="utf-8", errors="replace")
    assert token not in log  # the link's token never reaches the access log
