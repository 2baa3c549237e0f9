"""Products and SKUs from TikTok into inventory. Owned by the catalogue work."""

from __future__ import annotations


def catalog_sync(*, shop, full: bool = False, run=None):
    raise NotImplementedError


def product_refresh(*, shop, product_id: str, update_time: int = 0) -> None:
    raise NotImplementedError
