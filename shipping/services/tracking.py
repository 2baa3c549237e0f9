"""Tracking updates applied to shipments and their orders (implemented with the purchase pipeline)."""

from __future__ import annotations


def tracking_apply(*, update, source: str, account_id: str = "") -> bool:
    raise NotImplementedError
