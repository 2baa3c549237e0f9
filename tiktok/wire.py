"""The TikTok Shop wire format, as pure functions: build a signed request, read an answer.

No network and no Django here, so every rule of CONTRACT.md §4 is testable on its own:
`prepare_call` signs exactly the bytes that will be sent; `parse_answer` decides on the envelope's
`code`, never on the HTTP status alone, and turns a failure into the typed error callers branch on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .signing import api_sign

# Envelope codes (CONTRACT.md §4).
OK = 0
RATE_LIMITED = 36009002
INTERNAL_ERROR = 36009003
BAD_PARAMETER = 36009004
TOKEN_EXPIRED = 105002
MISSING_SCOPE = 105005
BAD_SIGN = 106001
CIPHER_MISSING = 106013


class TikTokError(Exception):
    """TikTok answered with a non-zero code, or did not answer usefully.

    `retryable` says whether the same call may succeed later (rate limit, TikTok-side error,
    timeout); `retry_after` is the server's hint in seconds, when it gave one.
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        request_id: str = "",
        http_status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.http_status = http_status
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.request_id:
            parts.append(f"request {self.request_id}")
        return " · ".join(parts)


class RateLimitedError(TikTokError):
    retryable = True


class ServerError(TikTokError):
    """TikTok's side failed (HTTP 5xx or code 36009003): retry with backoff."""

    retryable = True


class TransportError(TikTokError):
    """No usable answer: connection refused, timeout, a body that is not the envelope."""

    retryable = True


class TransportTimeout(TransportError):
    """TikTok took longer than our read timeout: it may be hanging, so it is asked again only once."""


class TokenExpiredError(TikTokError):
    pass


class AuthError(TikTokError):
    """Bad signature, unknown token or missing scope: our configuration, not a passing fault."""


class BadRequestError(TikTokError):
    """TikTok rejected the parameters (36009004 and the business codes of each endpoint)."""


def error_for(code: int | None, http_status: int | None) -> type[TikTokError]:
    if code == RATE_LIMITED or http_status == 429:
        return RateLimitedError
    if code == INTERNAL_ERROR or (http_status is not None and http_status >= 500):
        return ServerError
    if code == TOKEN_EXPIRED:
        return TokenExpiredError
    if code in (BAD_SIGN, MISSING_SCOPE, CIPHER_MISSING):
        return AuthError
    return BadRequestError


@dataclass(frozen=True)
class PreparedCall:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}{self.path}?{urlencode(self.params)}"


def _query_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_body(body: Mapping | None) -> bytes:
    """Compact JSON: the exact bytes that are both signed and sent."""
    if body is None:
        return b""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def prepare_call(
    *,
    method: str,
    path: str,
    app_key: str,
    app_secret: str,
    access_token: str | None,
    shop_cipher: str | None = None,
    params: Mapping | None = None,
    body: Mapping | None = None,
    timestamp: int | None = None,
) -> PreparedCall:
    """The signed request for one Open API call (`shop_cipher` only for shop-scoped paths)."""
    query = {key: _query_value(value) for key, value in (params or {}).items() if value is not None}
    query["app_key"] = app_key
    query["timestamp"] = str(int(timestamp if timestamp is not None else time.time()))
    if shop_cipher:
        query["shop_cipher"] = shop_cipher
    raw = encode_body(body) if method.upper() != "GET" else b""
    query["sign"] = api_sign(app_secret=app_secret, path=path, params=query, body=raw)
    headers = {"content-type": "application/json"}
    if access_token:
        headers["x-tts-access-token"] = access_token
    return PreparedCall(method=method.upper(), path=path, params=query, headers=headers, body=raw)


@dataclass(frozen=True)
class Answer:
    """A successful (code 0) answer."""

    data: dict
    request_id: str
    http_status: int
    code: int = 0
    extra: dict = field(default_factory=dict)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def parse_answer(*, http_status: int, headers: Mapping[str, str], body: bytes) -> Answer:
    """Read the envelope: code 0 → `Answer`; otherwise raise the matching `TikTokError`."""
    try:
        envelope = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        envelope = None
    if not isinstance(envelope, dict) or "code" not in envelope:
        cls = error_for(None, http_status)
        if cls is BadRequestError:
            cls = TransportError
        raise cls(
            f"TikTok answered HTTP {http_status} without an envelope",
            http_status=http_status,
            retry_after=_retry_after(headers),
        )
    try:
        code = int(envelope.get("code"))
    except (TypeError, ValueError) as exc:
        raise TransportError(
            f"envelope code is not a number: {envelope.get('code')!r}", http_status=http_status
        ) from exc
    request_id = str(envelope.get("request_id") or "")
    if code == OK:
        data = envelope.get("data")
        return Answer(
            data=data if isinstance(data, dict) else {}, request_id=request_id, http_status=http_status
        )
    cls = error_for(code, http_status)
    raise cls(
        str(envelope.get("message") or "TikTok Shop refused the request"),
        code=code,
        request_id=request_id,
        http_status=http_status,
        retry_after=_retry_after(headers),
    )


def path_template(path: str) -> str:
    """The path with ids replaced by `{id}`: what the rate limit and the call log group by."""
    return "/".join("{id}" if part.isdigit() and len(part) > 6 else part for part in path.split("/"))
