"""SLA-aware order priority: an impact score 0-100, a level, a processing queue and the reasons.

Creators see the level and the reasons on every order, so the score is a short, fixed sum of named
factors (no learned weights), deterministic for the same order, stock and clock:

    deadline (hours left before ship_by)   overdue 80 | <= 4 h 70 | <= 12 h 50 | <= 24 h 35 | <= 48 h 15
    viral SKU (inventory.viral)             +30
    express delivery option                 +25   name contains "express", "priority" or "next day"
    high value (total >= 100.00)            +15
    scarce SKU                              +15   summary_status low/out of stock, or < 3 days of cover
    total capped at 100.

Levels: VIRAL whenever a SKU is in a viral spike (whatever the score); else HIGH >= 70, MED >= 40,
AUTO below. So an order due within 4 h, or overdue, is HIGH on its own; one due within 12 h becomes
HIGH with one more factor (express, value or scarce stock).

Queue: express for HIGH/VIRAL or an express delivery option; bulk for AUTO orders with more than
48 h left; standard otherwise (including orders without a ship-by time: we do not know they can wait).

An order without ship_by gets no deadline factor. Items whose SKU is unknown (unmapped TikTok SKUs)
count for nothing but the total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from inventory.viral import skus_in_viral_spike

from .lifecycle import OPEN_STATUSES
from .models import Order, OrderEvent, OrderItem, PriorityLevel, ProcessingQueue

# deadline factor: (hours left at most, points); checked in order, first match wins
DEADLINE_POINTS: tuple[tuple[float, int], ...] = ((4, 70), (12, 50), (24, 35), (48, 15))
OVERDUE_POINTS = 80
VIRAL_POINTS = 30
EXPRESS_POINTS = 25
HIGH_VALUE_POINTS = 15
HIGH_VALUE_TOTAL = Decimal("100.00")
SCARCITY_POINTS = 15
LOW_COVER_DAYS = 3.0
SCARCE_STATUSES = frozenset({"low_stock", "out_of_stock"})
EXPRESS_WORDS = ("express", "priority", "next day")

HIGH_AT = 70
MED_AT = 40
BULK_AFTER_HOURS = 48

# rescoring looks at open orders due within this window: beyond it no factor moves with the clock
# (the bulk/standard boundary is at 48 h; the margin covers one beat interval and a late run)
RESCORE_WINDOW = timedelta(hours=BULK_AFTER_HOURS + 1)
RESCORE_CHUNK = 500

CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€"}


@dataclass(frozen=True)
class PriorityResult:
    level: str
    score: int
    reasons: list[str]
    queue: str


def score_order(order: Order, *, now: datetime | None = None) -> PriorityResult:
    """Score one order from its ship-by time, items (and their SKUs), total and delivery option.

    Reads the order's items with their SKUs (uses a prefetch of `items` when the caller made one) and
    asks inventory.viral about the SKUs; writes nothing.
    """
    items = _items(order)
    viral = skus_in_viral_spike(sku_ids=[item.sku_id for item in items if item.sku_id])
    return _score(order, items, viral, now or timezone.now())


def is_express_delivery(order: Order) -> bool:
    name = (order.delivery_option_name or "").lower()
    return any(word in name for word in EXPRESS_WORDS)


def hours_left(order: Order, now: datetime) -> float | None:
    if order.ship_by is None:
        return None
    return (order.ship_by - now).total_seconds() / 3600


def queue_for(*, level: str, express_delivery: bool, hours: float | None) -> str:
    """The processing queue for a level (also used when a rule or a person sets the level)."""
    if level in (PriorityLevel.HIGH, PriorityLevel.VIRAL) or express_delivery:
        return ProcessingQueue.EXPRESS
    if level == PriorityLevel.AUTO and hours is not None and hours > BULK_AFTER_HOURS:
        return ProcessingQueue.BULK
    return ProcessingQueue.STANDARD


def rescore_open_orders(*, account=None, now: datetime | None = None) -> int:
    """Re-score open orders whose ship-by falls within the next 49 h; returns how many changed.

    Run by beat every 5 minutes (orders.rescore_open) so a MED order becomes HIGH as its deadline
    nears. Orders with `priority_pinned` (a person or a rule chose the level) are skipped, and are
    re-checked under the row lock so a pin made while we scored is never overwritten. Works in
    chunks of 500, each in its own short transaction: rows locked in primary-key order, one
    bulk_update, and a "priority" timeline event for every order whose level changed. Idempotent:
    a second run at the same instant changes nothing.
    """
    now = now or timezone.now()
    candidates = Order.objects.filter(
        status__in=OPEN_STATUSES,
        priority_pinned=False,
        ship_by__isnull=False,
        ship_by__lte=now + RESCORE_WINDOW,
    )
    if account is not None:
        candidates = candidates.filter(account=account)
    ids = list(candidates.order_by("pk").values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), RESCORE_CHUNK):
        changed += _rescore_chunk(ids[start : start + RESCORE_CHUNK], now)
    return changed


def _rescore_chunk(ids: list, now: datetime) -> int:
    items = Prefetch("items", queryset=OrderItem.objects.select_related("sku"))
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update(of=("self",))
            .filter(pk__in=ids, priority_pinned=False, status__in=OPEN_STATUSES)
            .order_by("pk")
            .prefetch_related(items)
        )
        all_sku_ids = [item.sku_id for order in orders for item in order.items.all() if item.sku_id]
        viral = skus_in_viral_spike(sku_ids=all_sku_ids)
        updated, events = [], []
        for order in orders:
            result = _score(order, list(order.items.all()), viral, now)
            before = order.priority_level
            if (before, order.impact_score, order.priority_reasons, order.processing_queue) == (
                result.level,
                result.score,
                result.reasons,
                result.queue,
            ):
                continue
            order.priority_level, order.impact_score = result.level, result.score
            order.priority_reasons, order.processing_queue = result.reasons, result.queue
            order.updated_at = now
            updated.append(order)
            if before != result.level:
                events.append(
                    OrderEvent(
                        order=order,
                        type="priority",
                        message=f"Priority {before} → {result.level}: {'; '.join(result.reasons) or 'nothing urgent'}",
                        data={"from": before, "to": result.level, "score": result.score},
                        actor_label="rescore",
                        created_at=now,
                    )
                )
        if updated:
            Order.objects.bulk_update(
                updated,
                ["priority_level", "impact_score", "priority_reasons", "processing_queue", "updated_at"],
            )
        if events:
            OrderEvent.objects.bulk_create(events)
    return len(updated)


def _items(order: Order) -> list[OrderItem]:
    if "items" in getattr(order, "_prefetched_objects_cache", {}):
        return list(order.items.all())
    if order.pk is None:
        return []
    return list(order.items.select_related("sku"))


def _score(order: Order, items: list[OrderItem], viral_ids: set[str], now: datetime) -> PriorityResult:
    score, reasons = 0, []

    viral_codes = _codes(item for item in items if item.sku_id and str(item.sku_id) in viral_ids)
    if viral_codes:
        score += VIRAL_POINTS
        reasons.append(f"Viral SKU: {', '.join(viral_codes)}")

    hours = hours_left(order, now)
    if hours is not None:
        if hours <= 0:
            score += OVERDUE_POINTS
            reasons.append(f"Overdue by {max(1, math.ceil(-hours))} h")
        else:
            for limit, points in DEADLINE_POINTS:
                if hours <= limit:
                    score += points
                    reasons.append(f"Ships within {max(1, math.ceil(hours))} h")
                    break

    express = is_express_delivery(order)
    if express:
        score += EXPRESS_POINTS
        reasons.append("Express delivery")

    total = order.total or Decimal("0")
    if total >= HIGH_VALUE_TOTAL:
        score += HIGH_VALUE_POINTS
        reasons.append(f"High value: {format_money(total, order.currency)}")

    scarce_codes = _codes(item for item in items if item.sku_id and _is_scarce(item.sku))
    if scarce_codes:
        score += SCARCITY_POINTS
        reasons.append(f"Low stock: {', '.join(scarce_codes)}")

    score = min(score, 100)
    if viral_codes:
        level = PriorityLevel.VIRAL
    elif score >= HIGH_AT:
        level = PriorityLevel.HIGH
    elif score >= MED_AT:
        level = PriorityLevel.MED
    else:
        level = PriorityLevel.AUTO
    return PriorityResult(
        level=str(level),
        score=score,
        reasons=reasons,
        queue=str(queue_for(level=level, express_delivery=express, hours=hours)),
    )


def _is_scarce(sku) -> bool:
    if sku.summary_status in SCARCE_STATUSES:
        return True
    cover = sku.summary_days_of_cover
    return cover is not None and cover < LOW_COVER_DAYS


def _codes(items) -> list[str]:
    """Seller SKU codes, each once, in item order (reasons must read the same every time)."""
    seen: list[str] = []
    for item in items:
        code = item.seller_sku or (item.sku.seller_sku if item.sku_id else "") or item.tiktok_sku_id
        if code and code not in seen:
            seen.append(code)
    return seen


def format_money(amount: Decimal, currency: str) -> str:
    amount = Decimal(amount).quantize(Decimal("0.01"))
    symbol = CURRENCY_SYMBOLS.get((currency or "").upper())
    return f"{symbol}{amount:,}" if symbol else f"{amount:,} {currency}"
