"""The SKU stock summary: status, available units and days of cover kept on the SKU row.

Listing 100,000 SKUs by status or days of cover cannot compute every SKU's stock per request, so
these columns are a read model that filters and sorts use (selectors.sku_list); pages still show
the live figures of the rows they list.

When it is written, and why that is enough:
- `alerts_evaluate` refreshes the SKUs it evaluates, inside its transaction, after locking them in
  primary-key order. It runs after every committed change that can move a SKU's status: receipts,
  adjustments, channel counts, releases, imports, and reservations that leave the SKU at or below
  its threshold (a reservation that leaves it above cannot change the status: it was above before).
- The hourly alert sweep and the nightly velocity refresh (which moves thresholds and days of cover)
  refresh every active SKU.
So the status is exact soon after each commit, while days of cover and available units of SKUs well
above their threshold may lag by up to an hour — they only order the healthy part of the list.

The refresh is one UPDATE whose values come from correlated subqueries, so it reads the stock as
committed when the statement runs: callers hold the SKU row locks, so the last refresh to run after
a change sees that change.
"""

from __future__ import annotations

from django.db.models import ExpressionWrapper, F, FloatField, QuerySet, Value
from django.db.models.functions import Cast, NullIf
from django.utils import timezone

from ..models import SKU
from ..selectors import available_expression, status_expression


def summary_values() -> dict:
    """The summary columns as SQL expressions over the SKU row and its stock levels."""
    daily = Cast(F("avg_monthly_sales"), FloatField()) / Value(30.0)
    return {
        "summary_status": status_expression(),
        "summary_available": available_expression(),
        "summary_days_of_cover": ExpressionWrapper(
            Cast(available_expression(), FloatField()) / NullIf(daily, Value(0.0)), output_field=FloatField()
        ),
        "summary_updated_at": Value(timezone.now()),
    }


def stock_summary_refresh(*, sku_ids=None, account=None, queryset: QuerySet[SKU] | None = None) -> int:
    """Recompute the summary of the given SKUs (by ids, all of an account, or a queryset). One UPDATE.

    Precondition for exactness under concurrency: the caller holds the SKU rows' locks (as
    alerts_evaluate does) or runs where no writer races it (sweeps: a racing change re-evaluates
    its SKUs after its own commit anyway). Returns the number of rows updated.
    """
    if queryset is None:
        queryset = SKU.objects.all()
        if sku_ids is not None:
            queryset = queryset.filter(pk__in=[str(pk) for pk in sku_ids])
        if account is not None:
            queryset = queryset.filter(account=account)
        if sku_ids is None and account is None:
            raise ValueError("name the SKUs or the account to refresh")
    return queryset.update(**summary_values())
