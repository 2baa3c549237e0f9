"""Buying an order's label: rate shopping and failover (being written by the lead)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class PurchaseResult:
    """`state`: "bought" (a label exists, now or from before), "failed" (no carrier could sell one;
    the order is in needs_attention with `error`), "busy" (another worker is buying it right now),
    "skipped" (the order is not in a status we buy for: `error` says which)."""

    state: str
    shipment_id: uuid.UUID | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "bought"


def shipment_purchase(*, order_id, actor=None) -> PurchaseResult:
    raise NotImplementedError
