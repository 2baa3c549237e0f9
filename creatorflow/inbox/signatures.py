"""HMAC helpers for webhook signatures: pure functions, no Django, so platform stand-ins (the
TikTok sandbox) sign and check with exactly the code our endpoints use."""

from __future__ import annotations

import hashlib
import hmac


def hmac_sha256_hex(key: str | bytes, message: bytes) -> str:
    key_bytes = key.encode() if isinstance(key, str) else key
    return hmac.new(key_bytes, bytes(message), hashlib.sha256).hexdigest()


def signatures_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison that tolerates a missing or non-ASCII header (never raises)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", errors="replace"))
