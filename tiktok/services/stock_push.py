"""Our available stock out to TikTok: the inventory channel adapter. Owned by the catalogue work."""

from __future__ import annotations


def stock_push_due() -> dict:
    raise NotImplementedError
