"""HTTP plumbing: one ThreadingHTTPServer serving the Open API, the auth host, the consent page and
the `/_sandbox/` control endpoints on a single port.

HTTP/1.1 keep-alive with an exact Content-Length on every answer, so a client's connection pool
works as against TikTok; logging is silent so test output stays readable.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .api import Answer, handle_open_api, handle_token
from .control import handle_authorize_page, handle_control
from .records import SandboxError

MAX_BODY = 10 * 1024 * 1024


def parse_json(raw: bytes) -> dict:
    """A JSON object from the body (ints stay exact: Python's json has no 2^53 limit)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SandboxError(36009004, "body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise SandboxError(36009004, "body must be a JSON object")
    return value


def request_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(10).upper()


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, sandbox):
        self.sandbox = sandbox
        self.connections: set = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    def close_connections(self) -> None:
        """Drop idle keep-alive connections so a stopped sandbox really stops answering."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(2)
            except OSError:
                pass


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TikTokShopSandbox/1.0"
    timeout = 60  # an idle keep-alive connection's thread ends after this
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        return

    def setup(self):
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # plumbing ------------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise SandboxError(36009004, "body too large", 413)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload, headers: dict | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._send(status, body, "application/json", headers)

    def _send_answer(self, answer: Answer, method: str, path: str) -> None:
        rid = request_id()
        envelope = {"code": answer.code, "message": answer.message, "request_id": rid, "data": answer.data}
        self.server.sandbox.record_call(method, path, answer)
        self._send_json(answer.http_status, envelope, {"X-Tt-Logid": rid, **answer.headers})

    def _dispatch(self, method: str) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        path = split.path
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        try:
            raw = self._read_body()
        except (SandboxError, ValueError):
            self.close_connection = True
            self._send_answer(Answer(413, 36009004, "bad body"), method, path)
            return
        try:
            if path.startswith("/_sandbox/"):
                status, payload = handle_control(sandbox, method, path, raw)
                self._send_json(status, payload)
            elif path.startswith("/open/authorize"):
                status, body, headers = handle_authorize_page(sandbox, method, path, params, raw)
                self._send(status, body.encode(), "text/html; charset=utf-8", headers)
            elif path.startswith("/api/v2/token/"):
                self._send_answer(handle_token(sandbox, path, params), method, path)
            else:
                answer = handle_open_api(sandbox, method, path, params, self.headers, raw, parse_json)
                self._send_answer(answer, method, path)
        except Exception as exc:  # noqa: BLE001 - the sandbox answers like TikTok, never with a traceback page
            self._send_answer(Answer(500, 36009003, f"internal error: {type(exc).__name__}"), method, path)
