"""Reads over inventory. Every selector takes the account: a foreign id is simply not found.

`sku_list()` is the one query behind the API's product list, the dashboard list and the CSV export.
It annotates each SKU with its totals over all warehouses and its stock status in SQL, so filtering
by status, searching and sorting by days of cover all happen in the database at any catalogue size.

How it stays fast (bench/bench_inventory_list.py: 100,000 SKUs, `status=low_stock&search=...`):
- Each annotation is ONE correlated scalar subquery over the SKU's stock levels, written so that
  it always yields a row (an aggregate without GROUP BY): `available_stock` sums `on_hand -
  reserved` itself and `stock_status` does the whole CASE inside a single subquery. Built from
  `F()` arithmetic instead, Django repeats the subquery text wherever an annotation is referenced
  (ten subplans per row for the status filter), and PostgreSQL's cost estimate then also crosses
  the JIT threshold, which costs a second of compilation per query.
- Filtering by status evaluates one index probe (stock levels by sku_id) per candidate SKU; the
  SELECT list's subqueries run only for the rows of the page (PostgreSQL evaluates costly output
  expressions after ORDER BY ... LIMIT).
- `search` is `UPPER(col) LIKE UPPER('%term%')` (Django's icontains) on name and seller SKU; on
  PostgreSQL migration 0002 adds pg_trgm GIN indexes on exactly those expressions, so the
  candidates come from a BitmapOr of two index scans instead of a scan of the whole catalogue.
- The API's page carries its own total (`COUNT(*) OVER ()`, inventory/api.py), so the filter runs
  once per request; a plain `.count()` drops the unreferenced output annotations.
- Filtering by status and sorting by days of cover or available units use the stock summary kept
  on the SKU row (services/summary.py: exact status soon after every commit, indexed with the
  account), so neither computes every SKU's stock; the figures shown are still the live ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    CharField,
    Count,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Ceil, Coalesce, Greatest, NullIf

from accounts.models import Account

from .models import SKU, InventoryTransaction, StockLevel

# Low-stock threshold when the SKU sets none: max(10 units, 10% of average monthly sales).
DEFAULT_MIN_THRESHOLD = 10
DEFAULT_THRESHOLD_SHARE = Decimal("0.10")

STATUS_IN = "in_stock"
STATUS_LOW = "low_stock"
STATUS_OUT = "out_of_stock"
STATUSES = (STATUS_IN, STATUS_LOW, STATUS_OUT)

_LEVEL_ALIAS = "cf_stock"  # the stock-level table inside the subqueries; never clashes outside


class _PerSkuStock(Expression):
    """`(SELECT <aggregate> FROM inventory_stocklevel WHERE sku_id = <the outer SKU's pk>)`.

    `aggregate` is an SQL template over the stock-level columns `{on_hand}` and `{reserved}`, and
    `{0}`, `{1}`, ... for the compiled `extra` expressions of the outer row (e.g. the threshold).
    Without GROUP BY the aggregate yields exactly one row even for a SKU that was never stocked,
    so COALESCE inside the template gives 0 rather than NULL. Plain SQL valid on PostgreSQL and
    SQLite alike.
    """

    def __init__(self, aggregate: str, *extra, output_field):
        super().__init__(output_field=output_field)
        self.aggregate = aggregate
        self.sources = [F("pk"), *extra]

    def get_source_expressions(self):
        return self.sources

    def set_source_expressions(self, exprs):
        self.sources = list(exprs)

    def as_sql(self, compiler, connection):
        parts, params = [], []
        for expression in self.sources:
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        outer_pk, *extra = parts
        quote = connection.ops.quote_name
        column = {
            "on_hand": f"{quote(_LEVEL_ALIAS)}.{quote('on_hand')}",
            "reserved": f"{quote(_LEVEL_ALIAS)}.{quote('reserved')}",
        }
        body = self.aggregate.format(*extra, **column)
        sku_fk = StockLevel._meta.get_field("sku").column
        # Only quoted identifiers, our constant templates and compiled SQL; values stay in params.
        table, alias = quote(StockLevel._meta.db_table), quote(_LEVEL_ALIAS)
        sql = f"(SELECT {body} FROM {table} {alias} WHERE {alias}.{quote(sku_fk)} = {outer_pk})"  # noqa: S608
        return sql, params


def _stock_total(field: str) -> Expression:
    return _PerSkuStock(f"COALESCE(SUM({{{field}}}), 0)", output_field=IntegerField())


_AVAILABLE = "COALESCE(SUM({on_hand} - {reserved}), 0)"


def available_expression() -> Expression:
    """on_hand - reserved over all warehouses, in one subquery."""
    return _PerSkuStock(_AVAILABLE, output_field=IntegerField())


def status_expression() -> Expression:
    """out_of_stock when nothing is available, low_stock up to the threshold, else in_stock.

    One subquery: the SUM is computed once and compared in a CASE against the outer threshold.
    """
    template = (
        f"CASE WHEN {_AVAILABLE} <= 0 THEN '{STATUS_OUT}' "
        f"WHEN {_AVAILABLE} <= ({{0}}) THEN '{STATUS_LOW}' ELSE '{STATUS_IN}' END"
    )
    return _PerSkuStock(template, threshold_expression(), output_field=CharField())


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
    return queryset.annotate(
        current_stock=_stock_total("on_hand"),
        reserved_stock=_stock_total("reserved"),
        available_stock=available_expression(),
        threshold=threshold_expression(),
        stock_status=status_expression(),
        days_of_cover=ExpressionWrapper(
            Cast(available_expression(), FloatField()) / NullIf(daily, Value(0.0)),
            output_field=FloatField(),
        ),
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
        queryset = queryset.filter(summary_status=status)
    descending, field = ordering.startswith("-"), ordering.lstrip("-")
    field = SUMMARY_SORTS.get(field, field)
    if field == "summary_days_of_cover":
        expression = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
        return queryset.order_by(expression, "name", "pk")
    return queryset.order_by(f"-{field}" if descending else field, "pk")


# Sorting by these stock figures orders by their summary column (indexed, no per-row stock query).
SUMMARY_SORTS = {"days_of_cover": "summary_days_of_cover", "available_stock": "summary_available"}


def sku_status_counts(*, account: Account, search: str | None = None) -> dict[str, int]:
    """How many active SKUs are in each stock status (from the summary), plus "" for all of them."""
    queryset = SKU.objects.filter(account=account, is_active=True)
    if search:
        term = search.strip()
        queryset = queryset.filter(Q(name__icontains=term) | Q(seller_sku__icontains=term))
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in queryset.order_by().values_list("summary_status").annotate(n=Count("pk")):
        counts[status] = count
    return {"": sum(counts.values()), **counts}


def sku_for_account(*, account: Account, sku_id) -> SKU:
    """One SKU of the account with stock annotations; SKU.DoesNotExist for a foreign or unknown id."""
    return (
        with_stock(SKU.objects.filter(account=account)).select_related("product", "supplier").get(pk=sku_id)
    )


@dataclass(frozen=True)
class StockTotals:
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def sku_stock_totals(*, sku: SKU) -> StockTotals:
    """The SKU's on-hand and reserved units over all warehouses, read now."""
    row = StockLevel.objects.filter(sku=sku).aggregate(on_hand=Sum("on_hand"), reserved=Sum("reserved"))
    return StockTotals(on_hand=row["on_hand"] or 0, reserved=row["reserved"] or 0)


def sku_history(*, sku: SKU, limit: int) -> list[InventoryTransaction]:
    """The SKU's latest `limit` ledger movements, newest first (index sku, -created_at)."""
    return list(
        InventoryTransaction.objects.filter(sku=sku)
        .only("created_at", "type", "quantity", "reason")
        .order_by("-created_at", "-id")[:limit]
    )
