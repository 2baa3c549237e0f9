"""Stock tasks: thin, take ids only, call one service. Beat schedules them (inventory/schedules.py).

All are idempotent: a redelivered message (acks_late) repeats work that finds nothing left to do.
"""

from __future__ import annotations

from celery import shared_task

from .models import SKU
from .services.alerts import alerts_evaluate
from .services.stock import ledger_reconcile, reservations_expire
from .velocity import refresh_avg_monthly_sales

__all__ = [
    "evaluate_alerts_task",
    "expire_reservations_task",
    "reconcile_ledger_task",
    "refresh_velocity_task",
]

ALERT_SWEEP_CHUNK = 500


@shared_task(
    name="inventory.expire_reservations",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=120,
    soft_time_limit=100,
    ignore_result=True,
)
def expire_reservations_task() -> int:
    """Every minute: release reservations whose hold expired (services.stock.reservations_expire)."""
    return reservations_expire()


@shared_task(
    name="inventory.reconcile_ledger",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=1800,
    soft_time_limit=1700,
    ignore_result=True,
)
def reconcile_ledger_task(account_id: str | None = None) -> int:
    """Nightly: compare stock counters with the ledger and reservations; returns drifts found."""
    return len(ledger_reconcile(account=account_id))


@shared_task(
    name="inventory.evaluate_alerts",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=1800,
    soft_time_limit=1700,
    ignore_result=True,
)
def evaluate_alerts_task(account_id: str | None = None, sku_ids: list[str] | None = None) -> int:
    """Re-evaluate low/out-of-stock alerts of these SKUs, or sweep every active SKU in chunks.

    The sweep catches what an after-commit evaluation missed (a crash between commit and callback)
    and thresholds moved by the nightly velocity refresh. Returns the number of SKUs evaluated.
    """
    if sku_ids is not None:
        alerts_evaluate(sku_ids=sku_ids)
        return len(sku_ids)
    queryset = SKU.objects.filter(is_active=True).order_by("pk")
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    done, last = 0, None
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        ids = [str(pk) for pk in page.values_list("pk", flat=True)[:ALERT_SWEEP_CHUNK]]
        if not ids:
            return done
        alerts_evaluate(sku_ids=ids)
        done, last = done + len(ids), ids[-1]


@shared_task(
    name="inventory.refresh_velocity",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=3600,
    soft_time_limit=3500,
    ignore_result=True,
)
def refresh_velocity_task(account_id: str | None = None) -> int:
    """Nightly: recompute each SKU's average monthly sales (thresholds follow), then sweep alerts."""
    changed = refresh_avg_monthly_sales(account=account_id)
    evaluate_alerts_task(account_id=account_id)
    return changed
