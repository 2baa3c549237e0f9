"""Reads for the orders dashboard, always scoped to one account.

The list's default order is the priority order: open orders first, then highest impact, then the
earliest ship-by (orders without one last). Items are prefetched so a page costs the same few queries at any size.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value, When

from inventory.models import Reservation

from .lifecycle import OPEN_STATUSES
from .models import Order, OrderEvent, OrderItem, OrderStatus

REVIEW_STATUSES = (OrderStatus.HELD, OrderStatus.NEEDS_ATTENTION, OrderStatus.BACKORDERED)
NEEDS_A_PERSON = (OrderStatus.HELD, OrderStatus.NEEDS_ATTENTION)

# Orders still to act on come before shipped, cancelled and completed ones, whose old score no
# longer matters to anyone working the queue.
OPEN_FIRST = Case(When(status__in=list(OPEN_STATUSES), then=Value(0)), default=Value(1))
PRIORITY_ORDER = (
    OPEN_FIRST,
    F("impact_score").desc(),
    F("ship_by").asc(nulls_last=True),
    "-created_at",
    "pk",
)

SORTS = {
    "priority": PRIORITY_ORDER,
    "ship_by": (OPEN_FIRST, F("ship_by").asc(nulls_last=True), F("impact_score").desc(), "-created_at"),
    "newest": ("-created_at", "pk"),
    "total": ("-total", "-created_at"),
}
DEFAULT_SORT = "priority"


def _with_items(queryset: QuerySet) -> QuerySet:
    return queryset.prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("sku").order_by("id"))
    )


def orders_matching(
    *,
    account,
    status: str | None = None,
    priority: str | None = None,
    search: str | None = None,
    statuses: tuple[str, ...] | None = None,
) -> QuerySet[Order]:
    """The account's orders that pass the filters; no ordering, nothing prefetched.

    The one filter behind the dashboard lists and the REST API. `search` matches part of the
    TikTok order id, part of the customer's name, part of an item's seller SKU (as TikTok sent
    it, or the matched SKU's own code), or an item's exact TikTok SKU id.
    """
    queryset = Order.objects.filter(account=account)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    if status:
        queryset = queryset.filter(status=status)
    if priority:
        queryset = queryset.filter(priority_level=priority)
    term = (search or "").strip()
    if term:
        item_matches = OrderItem.objects.filter(order=OuterRef("pk")).filter(
            Q(seller_sku__icontains=term) | Q(sku__seller_sku__icontains=term) | Q(tiktok_sku_id=term)
        )
        queryset = queryset.filter(
            Q(tiktok_order_id__icontains=term) | Q(recipient_name__icontains=term) | Exists(item_matches)
        )
    return queryset


def order_list(
    *,
    account,
    status: str | None = None,
    priority: str | None = None,
    search: str | None = None,
    sort: str = DEFAULT_SORT,
    statuses: tuple[str, ...] | None = None,
) -> QuerySet[Order]:
    """`orders_matching`, sorted (priority first by default), with the items prefetched."""
    queryset = orders_matching(
        account=account, status=status, priority=priority, search=search, statuses=statuses
    )
    return _with_items(queryset.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT])))


def review_queue(*, account, search: str | None = None) -> QuerySet[Order]:
    """Held, needs-attention and backordered orders: the ones waiting for a person."""
    return order_list(account=account, statuses=REVIEW_STATUSES, search=search)


def orders_for_ids(*, account, ids) -> list[Order]:
    """The account's orders among `ids` (other accounts' ids and malformed ids are dropped)."""
    valid = []
    for value in ids:
        try:
            valid.append(str(Order._meta.pk.to_python(value)))
        except Exception:  # noqa: BLE001, S112 - a malformed id is simply not selected
            continue
    return list(Order.objects.filter(account=account, pk__in=valid).order_by("-impact_score", "pk"))


def order_detail_queryset(*, account) -> QuerySet[Order]:
    """The account's orders with shop, items and timeline prefetched (for one order's page)."""
    return _with_items(Order.objects.filter(account=account).select_related("shop")).prefetch_related(
        Prefetch("events", queryset=OrderEvent.objects.select_related("actor").order_by("-created_at", "-id"))
    )


def order_reservations(*, order: Order) -> list:
    """The stock reservations made for `order` (all statuses), newest first."""

    return list(
        Reservation.objects.filter(account_id=order.account_id, order_ref=order.reservation_ref)
        .select_related("sku", "warehouse")
        .order_by("-created_at")
    )


def automation_rate(*, account, since: datetime) -> dict:
    """Share of the account's orders since `since` (cancelled ones aside) that no person touched and
    that are not waiting for one now. Returns {"total", "automated", "rate"} (rate None without orders)."""
    orders = Order.objects.filter(account=account, created_at__gte=since).exclude(
        status=OrderStatus.CANCELLED
    )
    counts = orders.order_by().aggregate(
        total=_count(),
        automated=_count(Q(touched_by_human=False) & ~Q(status__in=NEEDS_A_PERSON)),
    )
    total, automated = counts["total"] or 0, counts["automated"] or 0
    return {"total": total, "automated": automated, "rate": (automated / total) if total else None}


def _count(condition: Q | None = None):

    return Count("pk", filter=condition) if condition is not None else Count("pk")


def status_counts(*, account, statuses) -> dict[str, int]:
    """How many of the account's orders are in each of `statuses`."""

    rows = (
        Order.objects.filter(account=account, status__in=statuses)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
    )
    counts = {status: 0 for status in statuses}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts
