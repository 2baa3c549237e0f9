"""The sales channel as inventory sees it: the seam the TikTok Shop integration plugs into.

Inventory never imports `tiktok`. The integration registers an adapter at start-up
(`register_channel(adapter)`); until one is registered, asking the channel for a SKU's count is a
clear 503 (`ServiceUnavailable`, code `channel_unavailable`) and stock changes are not pushed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from creatorflow.core.errors import ServiceUnavailable


@dataclass(frozen=True)
class ChannelCount:
    """What the channel says one SKU has, per warehouse (warehouse id -> units), and when."""

    sku_id: str
    quantities: dict[str, int]
    fetched_at: datetime


class ChannelAdapter(Protocol):
    name: str

    def fetch_stock(self, *, sku) -> ChannelCount:
        """Ask the channel for the SKU's current counts. Raises on failure."""

    def stock_changed(self, *, sku_ids: list[str]) -> None:
        """Schedule a push of the available quantity of these SKUs (debounced, after commit)."""


_adapter: ChannelAdapter | None = None


def register_channel(adapter: ChannelAdapter | None) -> None:
    global _adapter
    _adapter = adapter


def current_channel() -> ChannelAdapter:
    if _adapter is None:
        raise ServiceUnavailable(
            "No sales channel is connected yet: connect your TikTok Shop to sync stock.",
            code="channel_unavailable",
        )
    return _adapter


def stock_changed(*, sku_ids: list[str]) -> None:
    """Tell the channel these SKUs' available quantity changed. A no-op while none is connected.

    Services call it after commit (`transaction.on_commit(partial(stock_changed, sku_ids=[...]))`).
    """
    if _adapter is not None:
        _adapter.stock_changed(sku_ids=[str(pk) for pk in sku_ids])
