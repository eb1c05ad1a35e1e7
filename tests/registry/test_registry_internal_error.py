"""An unexpected exception: 500 in the one error shape, nothing of the exception in the body or the log."""

from __future__ import annotations

import asyncio
import logging

import httpx

from registry.api import create_app
from registry.db import open_database
from sync import protocol

SECRET = "510921198002301235"


def test_unexpected_error_is_500_without_details(tmp_path, caplog):
    """A bug inside an endpoint answers 500 server.internal; neither the body nor the log carries the exception's text."""
    engine = open_database(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    guarded = create_app(engine)

    @guarded.app.get("/api/test-boom")
    def boom() -> None:
        raise RuntimeError(f"failed for {SECRET}")

    async def calls() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=guarded, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            return (await client.get("/api/test-boom", headers={protocol.VERSION_HEADER: "1"}),
                    await client.get(protocol.HEALTH))

    with caplog.at_level(logging.INFO):
        r, health = asyncio.run(calls())
    assert health.status_code == 200
    assert r.status_code == 500
    assert r.json() == protocol.error_body(protocol.E_INTERNAL, "internal server error")
    assert SECRET not in r.text
    assert "RuntimeError" in caplog.text and SECRET not in caplog.text
    engine.dispose()
