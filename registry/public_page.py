"""What the public process's pages share (the worker's verification page, the residents' self-query page):
their static files served with their own security headers, and the caller's address for the throttles."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request, Response

from sync import protocol

from .errors import ApiError

STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "app.css": "text/css; charset=utf-8"}


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def page_file(page_dir: Path, name: str, headers: dict[str, str]) -> Response:
    """One of a page's three files, read each time (a page is a few KB), with the page's headers."""
    try:
        data = (page_dir / name).read_bytes()
    except OSError:
        raise ApiError(404, protocol.E_NOT_FOUND, "the page's file is missing") from None
    return Response(data, media_type=STATIC[name], headers=headers)
