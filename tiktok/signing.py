"""TikTok Shop request and webhook signatures (CONTRACT.md §3–4). Pure functions, no Django.

Both our client and the sandbox import these, so a request is signed and checked by the same rules:

- API call: lowercase hex HMAC-SHA256, key = app secret, message = secret + path + every query param
  except `sign` and `access_token` as `{key}{value}` sorted by key + the raw body bytes + secret.
- Webhook: lowercase hex HMAC-SHA256, key = app secret, message = app key + the raw body.
"""

from __future__ import annotations

from collections.abc import Mapping

from creatorflow.inbox.signatures import hmac_sha256_hex, signatures_match

UNSIGNED_PARAMS = frozenset({"sign", "access_token"})


def api_sign(*, app_secret: str, path: str, params: Mapping[str, object], body: bytes = b"") -> str:
    """The `sign` query parameter for one call. `params` are the query values exactly as sent
    (lists already comma-joined); `body` is the exact bytes sent (empty for GET and multipart)."""
    pieces = "".join(f"{key}{params[key]}" for key in sorted(params) if key not in UNSIGNED_PARAMS)
    message = app_secret.encode() + path.encode() + pieces.encode() + bytes(body) + app_secret.encode()
    return hmac_sha256_hex(app_secret, message)


def webhook_sign(*, app_key: str, app_secret: str, body: bytes) -> str:
    """The `Authorization` header TikTok puts on a webhook whose raw body is `body`."""
    return hmac_sha256_hex(app_secret, app_key.encode() + bytes(body))


__all__ = ["api_sign", "signatures_match", "webhook_sign"]
