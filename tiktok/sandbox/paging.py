"""Page tokens that encode a position (the last sort key and id seen), not an offset.

Keyset paging keeps a listing complete and free of duplicates while new rows arrive between pages,
which is what a sync that pages through thousands of orders needs.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json

from .records import SandboxError


def encode_token(position: dict) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, **expected) -> dict:
    """The position in `token`; 36009004 when it is garbage or was issued for another listing."""
    try:
        padded = token + "=" * (-len(token) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise SandboxError(36009004, "invalid page_token") from exc
    if not isinstance(position, dict) or any(position.get(k) != v for k, v in expected.items()):
        raise SandboxError(36009004, "invalid page_token")
    if not isinstance(position.get("key"), int) or not isinstance(position.get("id"), str):
        raise SandboxError(36009004, "invalid page_token")
    return position


def page_size(params: dict, *, default: int | None = None) -> int:
    """`page_size` must be an integer 1..100 (required unless a default is given)."""
    raw = params.get("page_size")
    if raw in (None, "") and default is not None:
        return default
    try:
        size = int(raw)
    except (TypeError, ValueError) as exc:
        raise SandboxError(36009004, "page_size must be an integer from 1 to 100") from exc
    if not 1 <= size <= 100:
        raise SandboxError(36009004, "page_size must be an integer from 1 to 100")
    return size


def keyset_page(rows: list, *, key, size: int, token: str, descending: bool = False, **scope):
    """Slice `rows` (anything with `.id`) ordered by (key(row), int id) after the token's position.

    Returns (page, next_page_token); the token is "" when nothing follows.
    """

    def sort_key(row):
        return (key(row), int(row.id))

    ordered = sorted(rows, key=sort_key)  # ascending; a token's position is then found by bisection
    mark = None
    if token:
        position = decode_token(token, **scope)
        mark = (position["key"], int(position["id"]))
    if descending:
        end = bisect.bisect_left(ordered, mark, key=sort_key) if mark is not None else len(ordered)
        following = ordered[max(0, end - size - 1) : end][::-1]
    else:
        start = bisect.bisect_right(ordered, mark, key=sort_key) if mark is not None else 0
        following = ordered[start : start + size + 1]
    page = following[:size]
    if len(following) > size:
        last = page[-1]
        return page, encode_token({**scope, "key": key(last), "id": last.id})
    return page, ""
