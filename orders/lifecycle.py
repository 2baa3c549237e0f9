"""Which status may follow which: the order lifecycle as a table (only `order_transition` uses it).

TikTok's own statuses map onto ours in `status_for_tiktok` (orders/services/intake.py decides
when to apply it). A move that is not in the table is refused with code `invalid_transition`.
"""

from __future__ import annotations

from .models import OrderStatus as S

OPEN_STATUSES = frozenset({S.RECEIVED, S.RESERVED, S.HELD, S.READY, S.BACKORDERED, S.NEEDS_ATTENTION})
CLOSED_STATUSES = frozenset({S.COMPLETED, S.CANCELLED, S.RETURNED})

TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.RESERVED, S.HELD, S.READY, S.BACKORDERED, S.NEEDS_ATTENTION, S.CANCELLED}),
    # reserved: stock held, not yet cleared to ship (e.g. TikTok's ON_HOLD, or rules still to run)
    S.RESERVED: frozenset({S.HELD, S.READY, S.NEEDS_ATTENTION, S.CANCELLED, S.BACKORDERED}),
    S.HELD: frozenset({S.READY, S.RESERVED, S.NEEDS_ATTENTION, S.CANCELLED, S.BACKORDERED}),
    S.READY: frozenset({S.LABEL_PURCHASED, S.HELD, S.RESERVED, S.NEEDS_ATTENTION, S.CANCELLED, S.SHIPPED}),
    S.BACKORDERED: frozenset({S.RESERVED, S.READY, S.HELD, S.NEEDS_ATTENTION, S.CANCELLED}),
    S.NEEDS_ATTENTION: frozenset(
        {S.RESERVED, S.READY, S.HELD, S.BACKORDERED, S.CANCELLED, S.LABEL_PURCHASED}
    ),
    S.LABEL_PURCHASED: frozenset({S.SHIPPED, S.READY, S.NEEDS_ATTENTION, S.CANCELLED}),
    S.SHIPPED: frozenset({S.IN_TRANSIT, S.DELIVERED, S.RETURNED, S.COMPLETED}),
    S.IN_TRANSIT: frozenset({S.DELIVERED, S.RETURNED, S.COMPLETED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.RETURNED}),
    S.COMPLETED: frozenset({S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


# TikTok status -> the status we move to when TikTok reports it (None: no change of ours implied).
TIKTOK_STATUS_MAP: dict[str, str | None] = {
    "UNPAID": None,
    "ON_HOLD": None,  # reserved, not shippable until released
    "AWAITING_SHIPMENT": None,  # ours decides: ready, held, backordered...
    "PARTIALLY_SHIPPING": S.SHIPPED,
    "AWAITING_COLLECTION": S.SHIPPED,
    "IN_TRANSIT": S.IN_TRANSIT,
    "DELIVERED": S.DELIVERED,
    "COMPLETED": S.COMPLETED,
    "CANCELLED": S.CANCELLED,
}


def normalise_tiktok_status(value: str) -> str:
    """TikTok's webhooks may say CANCEL: it means CANCELLED."""
    value = (value or "").strip().upper()
    return "CANCELLED" if value == "CANCEL" else value
