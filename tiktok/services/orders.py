"""Orders from TikTok: batched fetches of webhook-announced orders, the incremental poll, the full
import, reconciliation. Owned by the orders-sync work."""

from __future__ import annotations


def pending_orders_add(*, shop, order_id: str, update_time: int = 0) -> None:
    raise NotImplementedError


def pending_orders_fetch(*, shop) -> dict:
    raise NotImplementedError


def orders_poll(*, shop):
    raise NotImplementedError


def orders_reconcile(*, shop):
    raise NotImplementedError
