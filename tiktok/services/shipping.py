"""Mark Package As Shipped. Owned by the orders-sync work."""

from __future__ import annotations


def tiktok_mark_shipped(*, order, carrier_name: str, tracking_number: str):
    raise NotImplementedError
