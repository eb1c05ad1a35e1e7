"""A load balancer in front of the registry, as a real process: it forwards every request to the
registry, except while the file named by argv[2] exists, when it answers 503 with an empty body
(no JSON), as nginx or a cloud balancer does when its backend is down for maintenance.

Usage: python balancer_child.py UPSTREAM_URL MAINTENANCE_FLAG_PATH; prints "port N" once listening.
"""

from __future__ import annotations

import http.client
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

UPSTREAM = urlsplit(sys.argv[1])
FLAG = Path(sys.argv[2])
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class Balancer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if FLAG.exists():
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in _HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = _relay


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Balancer)
    server.daemon_threads = True
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
