"""Reads over inventory. Every selector takes the account: a foreign id is simply not found.

`sku_list()` is the one query behind the API's product list, the dashboard list and the CSV export.
It annotates each SKU with its totals over all warehouses and its stock status in SQL, so filtering
by status, searching and sorting by days of cover all happen in the database at any catalogue size.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Ceil, Coalesce, Greatest, NullIf

from accounts.models import Account

from .models import SKU, StockLevel

# Low-stock threshold when the SKU sets none: max(10 units, 10% of average monthly sales).
DEFAULT_MIN_THRESHOLD = 10
DEFAULT_THRESHOLD_SHARE = Decimal("0.10")

STATUS_IN = "in_stock"
STATUS_LOW = "low_stock"
STATUS_OUT = "out_of_stock"
STATUSES = (STATUS_IN, STATUS_LOW, STATUS_OUT)


def _stock_total(field: str):
    totals = (
        StockLevel.objects.filter(sku=OuterRef("pk"))
        .order_by()
        .values("sku")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(totals, output_field=IntegerField()), Value(0))


def threshold_expression():
    """The SKU's override, else max(10, ceil(10% of average monthly sales)), as SQL."""
    derived = Greatest(
        Value(DEFAULT_MIN_THRESHOLD),
        Cast(Ceil(F("avg_monthly_sales") * Value(DEFAULT_THRESHOLD_SHARE)), IntegerField()),
    )
    return Coalesce(F("low_stock_threshold"), derived)


def with_stock(queryset: QuerySet[SKU]) -> QuerySet[SKU]:
    """Annotate current_stock, reserved_stock, available_stock, threshold, stock_status, days_of_cover.

    days_of_cover = available / (average monthly sales / 30); NULL when nothing sells.
    """
    daily = Cast(F("avg_monthly_sales"), FloatField()) / Value(30.0)
    return (
        queryset.annotate(
            current_stock=_stock_total("on_hand"),
            reserved_stock=_stock_total("reserved"),
        )
        .annotate(
            available_stock=F("current_stock") - F("reserved_stock"),
            threshold=threshold_expression(),
        )
        .annotate(
            stock_status=Case(
                When(available_stock__lte=0, then=Value(STATUS_OUT)),
                When(available_stock__lte=F("threshold"), then=Value(STATUS_LOW)),
                default=Value(STATUS_IN),
            ),
            days_of_cover=ExpressionWrapper(
                Cast(F("available_stock"), FloatField()) / NullIf(daily, Value(0.0)),
                output_field=FloatField(),
            ),
        )
    )


def sku_list(
    *, account: Account, status: str | None = None, search: str | None = None, ordering: str = "name"
) -> QuerySet[SKU]:
    """The account's active SKUs with stock annotations, filtered and ordered.

    `status` is one of STATUSES (anything else raises ValueError: the caller validates input);
    `search` matches name or seller SKU, case-insensitively; `ordering` is a field or annotation
    name, "-" for descending ("days_of_cover" sorts SKUs that never sell last).
    """
    queryset = with_stock(SKU.objects.filter(account=account, is_active=True).select_related("product"))
    if search:
        term = search.strip()
        queryset = queryset.filter(Q(name__icontains=term) | Q(seller_sku__icontains=term))
    if status:
        if status not in STATUSES:
            raise ValueError(f"unknown stock status {status!r}")
        queryset = queryset.filter(stock_status=status)
    field = ordering.lstrip("-")
    if field == "days_of_cover":
        expression = (
            F("days_of_cover").desc(nulls_last=True)
            if ordering.startswith("-")
            else F("days_of_cover").asc(nulls_last=True)
        )
        return queryset.order_by(expression, "name", "pk")
    return queryset.order_by(ordering, "pk")


def sku_for_account(*, account: Account, sku_id) -> SKU:
    """One SKU of the account with stock annotations; SKU.DoesNotExist for a foreign or unknown id."""
    return (
        with_stock(SKU.objects.filter(account=account)).select_related("product", "supplier").get(pk=sku_id)
    )
