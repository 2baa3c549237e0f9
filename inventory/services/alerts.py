"""Stock alerts: low stock, out of stock, failing channel pushes, ledger drift.

At most one alert per (SKU, kind) is open at a time: the partial unique constraint
`inventory_one_open_alert_per_kind` decides races, so two evaluations running at once open one
alert and send one notification. An alert is notified exactly when it is opened, in the same
transaction (`notified_at` is set there): if the transaction rolls back, neither exists.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.facade import notify

from ..locking import sku_for_update
from ..models import SKU, StockAlert, SyncStatus
from ..selectors import (
    DEFAULT_MIN_THRESHOLD,
    DEFAULT_THRESHOLD_SHARE,
    STATUS_LOW,
    STATUS_OUT,
    threshold_expression,
)
from .summary import stock_summary_refresh

logger = logging.getLogger(__name__)

SYNC_FAILURE_ALERT_AT = 3  # consecutive failed pushes before the creator is told
STOCK_KINDS = (StockAlert.Kind.LOW_STOCK, StockAlert.Kind.OUT_OF_STOCK)
SEVERITY = {
    StockAlert.Kind.LOW_STOCK: "warning",
    StockAlert.Kind.OUT_OF_STOCK: "critical",
    StockAlert.Kind.SYNC_FAILURE: "warning",
    StockAlert.Kind.LEDGER_DRIFT: "critical",
    StockAlert.Kind.VIRAL_CRITICAL: "critical",
}


def threshold_for(*, low_stock_threshold: int | None, avg_monthly_sales) -> int:
    """The rule of selectors.threshold_expression, in Python: override, else max(10, ceil(10%))."""
    if low_stock_threshold is not None:
        return int(low_stock_threshold)
    share = Decimal(avg_monthly_sales or 0) * DEFAULT_THRESHOLD_SHARE
    return max(DEFAULT_MIN_THRESHOLD, math.ceil(share))


def stock_threshold(*, sku) -> int:
    """The SKU's low-stock threshold: its override, else max(10, ceil(10% of average monthly sales))."""
    return threshold_for(low_stock_threshold=sku.low_stock_threshold, avg_monthly_sales=sku.avg_monthly_sales)


def sku_link(sku_id) -> str:
    return f"/inventory/skus/{sku_id}/"


def alert_open(*, sku, kind: str, message: str, title: str, body: str = "", data: dict | None = None):
    """Open an alert of `kind` for `sku` and notify the account, unless one is already open.

    Returns the new alert, or None when one was open (then nobody is notified again). Runs in its
    own savepoint, so the unique-constraint race with a concurrent caller leaves the caller's
    transaction usable.
    """
    if StockAlert.objects.filter(sku_id=sku.pk, kind=kind, status=StockAlert.Status.OPEN).exists():
        return None
    try:
        with transaction.atomic():
            alert = StockAlert.objects.create(
                account_id=sku.account_id,
                sku_id=sku.pk,
                kind=kind,
                message=message[:500],
                data=data or {},
                notified_at=timezone.now(),
            )
            notify(
                account=sku.account,
                kind=f"inventory.{kind}",
                severity=SEVERITY[kind],
                title=title,
                body=body,
                link=sku_link(sku.pk),
            )
    except IntegrityError:
        return None  # opened (and notified) by a concurrent caller
    return alert


def alerts_resolve(*, sku_ids, kinds) -> int:
    """Resolve the open alerts of these kinds for these SKUs. Idempotent; returns how many."""
    ids = [str(pk) for pk in sku_ids]
    if not ids:
        return 0
    return StockAlert.objects.filter(
        sku_id__in=ids, kind__in=list(kinds), status=StockAlert.Status.OPEN
    ).update(status=StockAlert.Status.RESOLVED, resolved_at=timezone.now())


def _reorder_text(sku) -> str:
    from ..velocity import reorder_suggestion  # velocity reads stock; imported late to keep startup light

    suggestion = reorder_suggestion(sku=sku)
    if suggestion.per_day <= 0:
        return "No recent sales to base a reorder on."
    return (
        f"Selling about {suggestion.per_day:.1f} a day. Suggested reorder: {suggestion.quantity} units "
        f"(covers {suggestion.lead_time_days} days lead time + {suggestion.safety_days} days safety; "
        f"{suggestion.on_order} already on order; confidence {suggestion.confidence:.0%})."
    )


def alerts_evaluate(*, sku_ids) -> None:
    """Bring the low_stock / out_of_stock alerts of these SKUs in line with their stock.

    out_of_stock when nothing is available, low_stock when available <= threshold, neither
    otherwise; an alert that no longer applies is resolved (low -> out resolves low and opens out).
    The SKU rows are locked (pk order) before stock is read, so evaluations of one SKU run one after
    the other and the last one sees the last committed stock. Call it after the stock change has
    committed (services do, via on_commit); it opens its own transaction.
    """
    ids = sorted({str(pk) for pk in sku_ids})
    if not ids:
        return
    with transaction.atomic():
        list(SKU.objects.filter(pk__in=ids).order_by("pk").select_for_update(of=("self",)).values_list("pk"))
        stock_summary_refresh(sku_ids=ids)
        # The summary just written under these locks is the stock as committed: read it, not again.
        skus = list(
            SKU.objects.filter(pk__in=ids)
            .annotate(threshold=threshold_expression())
            .select_related("account")
            .order_by("pk")
        )
        open_kinds = set(
            StockAlert.objects.filter(
                sku_id__in=ids, kind__in=STOCK_KINDS, status=StockAlert.Status.OPEN
            ).values_list("sku_id", "kind")
        )
        to_resolve: dict[str, list[str]] = {}
        to_open = []
        for sku in skus:
            wanted = None
            if sku.is_active and sku.summary_status == STATUS_OUT:
                wanted = StockAlert.Kind.OUT_OF_STOCK
            elif sku.is_active and sku.summary_status == STATUS_LOW:
                wanted = StockAlert.Kind.LOW_STOCK
            for kind in STOCK_KINDS:
                if (sku.pk, kind) in open_kinds and kind != wanted:
                    to_resolve.setdefault(kind, []).append(sku.pk)
            if wanted is not None and (sku.pk, wanted) not in open_kinds:
                to_open.append((sku, wanted))
        for kind, resolved_ids in to_resolve.items():
            alerts_resolve(sku_ids=resolved_ids, kinds=[kind])
        for sku, kind in to_open:
            available, threshold = sku.summary_available, sku.threshold
            if kind == StockAlert.Kind.OUT_OF_STOCK:
                title = f"{sku.name} is out of stock"
                message = f"{sku.seller_sku}: {max(available, 0)} available"
            else:
                title = f"{sku.name} is running low"
                message = f"{sku.seller_sku}: {available} available, threshold {threshold}"
            alert_open(
                sku=sku,
                kind=kind,
                message=message,
                title=title,
                body=f"{message}. {_reorder_text(sku)}",
                data={"available": available, "threshold": threshold},
            )


def sku_sync_failed(*, sku, error: str) -> None:
    """Count one failed push of the SKU's stock to the channel.

    The status shows the last push failed at once; after SYNC_FAILURE_ALERT_AT consecutive failures
    a sync_failure alert opens and the account is notified (once, while it stays open). The SKU row
    is locked so concurrent failures count exactly.
    """
    with transaction.atomic():
        locked = sku_for_update(sku_id=sku.pk)
        locked.sync_failures += 1
        locked.inventory_sync_status = SyncStatus.FAILED
        locked.save(update_fields=["sync_failures", "inventory_sync_status", "updated_at"])
        if locked.sync_failures >= SYNC_FAILURE_ALERT_AT:
            alert_open(
                sku=locked,
                kind=StockAlert.Kind.SYNC_FAILURE,
                message=f"{locked.seller_sku}: {locked.sync_failures} failed stock pushes: {error}"[:500],
                title=f"Stock of {locked.name} is not reaching TikTok Shop",
                body=(
                    f"The last {locked.sync_failures} pushes of {locked.seller_sku}'s available stock "
                    f"failed. Last error: {error}. Buyers may see a wrong quantity until it succeeds."
                ),
                data={"failures": locked.sync_failures, "error": error[:300]},
            )
    logger.warning("stock push failed for SKU %s (%s): %s", sku.pk, locked.sync_failures, error)
    sku.sync_failures, sku.inventory_sync_status = locked.sync_failures, locked.inventory_sync_status


def sku_sync_succeeded(*, sku) -> None:
    """A push succeeded: reset the failure count, resolve the sync alert, record the sync time."""
    now = timezone.now()
    with transaction.atomic():
        SKU.objects.filter(pk=sku.pk).update(
            sync_failures=0, inventory_sync_status=SyncStatus.SYNCED, last_inventory_sync=now, updated_at=now
        )
        alerts_resolve(sku_ids=[sku.pk], kinds=[StockAlert.Kind.SYNC_FAILURE])
    sku.sync_failures, sku.inventory_sync_status, sku.last_inventory_sync = 0, SyncStatus.SYNCED, now
