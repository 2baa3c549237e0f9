"""How fast SKUs sell, when they run out, and how much to reorder.

Demand is the units reserved for orders: `Reservation` rows by `created_at`, whatever their status
(a cancelled order was still demand). Every figure is an aggregate over the (sku, created_at) index,
so a page of SKUs costs a constant number of queries (`velocities`).

Windows, all ending at `now`:
- now_per_hour: units in the last 60 minutes;
- avg_per_hour: units over the last 30 days divided by the hours in that window, or, for a SKU whose
  first sale is younger than 30 days, by the hours since that first sale (at least one hour);
- peak_per_hour: the largest clock-hour bucket (UTC) of the last 7 days;
- trend: last 24 h against the 24 h before: "rising" above +20 %, "falling" below -20 %, else "steady".
The selling rate used for cover and reorder is the higher of the 30-day average and the last 24 h
rate, so a surge shortens the cover at once and a lull does not lengthen it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from .models import SKU, PurchaseOrder, PurchaseOrderLine, Reservation
from .selectors import with_stock

AVG_WINDOW = timedelta(days=30)
PEAK_WINDOW = timedelta(days=7)
TREND_WINDOW = timedelta(hours=24)
TREND_MARGIN = 0.2
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Velocity:
    sku_id: str
    now_per_hour: float
    avg_per_hour: float
    peak_per_hour: float
    trend: str  # "rising" | "falling" | "steady"
    available: int
    days_of_cover: float | None
    stockout_at: datetime | None
    last_day_per_hour: float = 0.0  # units in the last 24 h / 24 (an addition: defaulted, last)

    @property
    def rate_per_hour(self) -> float:
        """The rate cover and reorder use (see the module docstring)."""
        return max(self.avg_per_hour, self.last_day_per_hour)


@dataclass(frozen=True)
class ReorderSuggestion:
    sku_id: str
    quantity: int
    confidence: float
    per_day: float
    lead_time_days: int
    safety_days: int
    available: int
    on_order: int


def _trend(last_day: int, prior_day: int) -> str:
    if last_day > prior_day * (1 + TREND_MARGIN):
        return "rising"
    if last_day < prior_day * (1 - TREND_MARGIN):
        return "falling"
    return "steady"


def _build(*, sku_id: str, now: datetime, row: dict, first_sale, peak: int, available: int) -> Velocity:
    start = now - AVG_WINDOW
    if first_sale is not None and first_sale > start:
        start = first_sale
    hours = max((now - start) / HOUR, 1.0)
    avg = (row.get("month") or 0) / hours
    last_day = row.get("last_day") or 0
    rate = max(avg, last_day / 24)
    if rate > 0:
        hours_left = max(available, 0) / rate
        days_of_cover, stockout_at = hours_left / 24, now + timedelta(hours=hours_left)
    else:
        days_of_cover, stockout_at = None, None
    return Velocity(
        sku_id=sku_id,
        now_per_hour=float(row.get("last_hour") or 0),
        avg_per_hour=avg,
        peak_per_hour=float(peak),
        trend=_trend(last_day, row.get("prior_day") or 0),
        available=available,
        days_of_cover=days_of_cover,
        stockout_at=stockout_at,
        last_day_per_hour=last_day / 24,
    )


def _window_sums(sku_ids: list[str], now: datetime) -> dict[str, dict]:
    """One grouped query: units in the last hour, last day, the day before and the last 30 days."""
    rows = (
        Reservation.objects.filter(sku_id__in=sku_ids, created_at__gt=now - AVG_WINDOW, created_at__lte=now)
        .values("sku_id")
        .annotate(
            last_hour=Sum("quantity", filter=Q(created_at__gt=now - HOUR)),
            last_day=Sum("quantity", filter=Q(created_at__gt=now - TREND_WINDOW)),
            prior_day=Sum(
                "quantity",
                filter=Q(created_at__gt=now - 2 * TREND_WINDOW, created_at__lte=now - TREND_WINDOW),
            ),
            month=Sum("quantity"),
        )
        .order_by()
    )
    return {str(r["sku_id"]): r for r in rows}


def _hourly(sku_ids: list[str], since: datetime, now: datetime) -> dict[str, dict[datetime, int]]:
    """Units per UTC clock hour per SKU since `since` (one grouped query)."""
    rows = (
        Reservation.objects.filter(sku_id__in=sku_ids, created_at__gte=since, created_at__lte=now)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("sku_id", "hour")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    found: dict[str, dict[datetime, int]] = {}
    for r in rows:
        found.setdefault(str(r["sku_id"]), {})[r["hour"]] = r["units"]
    return found


def _first_sale_subquery():
    first = Reservation.objects.filter(sku=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
    return Subquery(first)


def velocities(*, account, sku_ids, now=None) -> dict[str, Velocity]:
    """Velocity of each of the account's SKUs in `sku_ids` (foreign ids are left out).

    Three queries whatever the number of SKUs: stock + first sale, window sums, hourly buckets.
    """
    now = now or timezone.now()
    ids = [str(pk) for pk in sku_ids]
    skus = list(
        with_stock(SKU.objects.filter(account=account, pk__in=ids))
        .annotate(first_sale=_first_sale_subquery())
        .values("pk", "available_stock", "first_sale")
    )
    ids = [str(s["pk"]) for s in skus]
    if not ids:
        return {}
    sums = _window_sums(ids, now)
    hourly = _hourly(ids, now - PEAK_WINDOW, now)
    return {
        str(s["pk"]): _build(
            sku_id=str(s["pk"]),
            now=now,
            row=sums.get(str(s["pk"]), {}),
            first_sale=s["first_sale"],
            peak=max(hourly.get(str(s["pk"]), {}).values(), default=0),
            available=s["available_stock"],
        )
        for s in skus
    }


def sku_velocity(*, sku, now=None) -> Velocity:
    """Velocity of one SKU (see the module docstring for the windows)."""
    return velocities(account=sku.account_id, sku_ids=[sku.pk], now=now)[str(sku.pk)]


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hourly_units(*, sku, hours: int = 48, now=None) -> list[int]:
    """Units per UTC clock hour for the sparkline, oldest first; the last is the current hour."""
    now = now or timezone.now()
    last = _hour_floor(now)
    first = last - (hours - 1) * HOUR
    buckets = _hourly([str(sku.pk)], first, now).get(str(sku.pk), {})
    return [buckets.get(first + i * HOUR, 0) for i in range(hours)]


def on_order_units(*, sku) -> int:
    """Units still to arrive on sent or partially received purchase orders."""
    lines = PurchaseOrderLine.objects.filter(
        sku_id=sku.pk,
        purchase_order__status__in=[PurchaseOrder.Status.SENT, PurchaseOrder.Status.PARTIALLY_RECEIVED],
    ).aggregate(ordered=Sum("quantity_ordered"), received=Sum("quantity_received"))
    return (lines["ordered"] or 0) - (lines["received"] or 0)


def _confidence(*, sku_id: str, now: datetime, velocity: Velocity) -> float:
    """0-1: how much to trust the rate. Volume (units and days of history) times steadiness.

    volume = min(1, units in 30 days / 50) * min(1, days of history / 7);
    steadiness = 1 / (1 + coefficient of variation of the last 7 daily totals).
    """
    history_hours = _history_hours(sku_id, now)
    month_units = velocity.avg_per_hour * min(AVG_WINDOW / HOUR, history_hours)
    if month_units <= 0:
        return 0.0
    history_days = history_hours / 24
    volume = min(1.0, month_units / 50) * min(1.0, history_days / 7)
    daily = [0] * 7
    for hour, units in _hourly([sku_id], now - PEAK_WINDOW, now).get(sku_id, {}).items():
        index = min(int((now - hour) / timedelta(days=1)), 6)
        daily[index] += units
    mean = statistics.fmean(daily)
    variation = statistics.pstdev(daily) / mean if mean else 1.0
    return round(volume / (1 + variation), 2)


def _history_hours(sku_id: str, now: datetime) -> float:
    first = Reservation.objects.filter(sku_id=sku_id).aggregate(first=Min("created_at"))["first"]
    return max((now - first) / HOUR, 1.0) if first else 0.0


def reorder_suggestion(*, sku, now=None, safety_days: int = 7) -> ReorderSuggestion:
    """How many units to order now: rate per day x (lead time + safety days) - available - on order.

    Never negative. The rate is `Velocity.rate_per_hour` x 24; lead time is the SKU's, else its
    supplier's, else 7 days.
    """
    now = now or timezone.now()
    velocity = sku_velocity(sku=sku, now=now)
    per_day = velocity.rate_per_hour * 24
    lead = sku.effective_lead_time_days
    on_order = on_order_units(sku=sku)
    needed = per_day * (lead + safety_days) - max(velocity.available, 0) - on_order
    return ReorderSuggestion(
        sku_id=str(sku.pk),
        quantity=max(0, math.ceil(round(needed, 6))),
        confidence=_confidence(sku_id=str(sku.pk), now=now, velocity=velocity),
        per_day=per_day,
        lead_time_days=lead,
        safety_days=safety_days,
        available=velocity.available,
        on_order=on_order,
    )


def refresh_avg_monthly_sales(*, account=None, now=None) -> int:
    """Nightly: set SKU.avg_monthly_sales to the 30-day rate (avg_per_hour x 720). Returns SKUs changed.

    Works in chunks of SKUs, three queries per chunk plus one UPDATE per changed SKU; no locks are
    held across chunks (a SKU edited meanwhile keeps its other fields: only this column is written).
    """
    from decimal import Decimal

    now = now or timezone.now()
    queryset = SKU.objects.order_by("pk")
    if account is not None:
        queryset = queryset.filter(account=account)
    changed = 0
    chunk = 500
    last_pk = None
    while True:
        page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        rows = list(page.values_list("pk", "account_id", "avg_monthly_sales")[:chunk])
        if not rows:
            return changed
        last_pk = rows[-1][0]
        by_account: dict = {}
        for pk, account_id, current in rows:
            by_account.setdefault(account_id, []).append((pk, current))
        for account_id, items in by_account.items():
            found = velocities(account=account_id, sku_ids=[pk for pk, _ in items], now=now)
            for pk, current in items:
                monthly = Decimal(str(round(found[str(pk)].avg_per_hour * 720, 2)))
                if monthly != current:
                    SKU.objects.filter(pk=pk).update(avg_monthly_sales=monthly)
                    changed += 1
