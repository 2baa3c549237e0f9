"""Order tasks: thin, take ids only, call one service. Beat schedules them (orders/schedules.py).

Routed by CELERY_TASK_ROUTES (no queue on the task). All are idempotent: a redelivered message
(acks_late) repeats work that finds nothing left to change.
"""

from __future__ import annotations

from celery import shared_task

from .priority import rescore_open_orders
from .services.actions import backorders_retry

__all__ = ["rescore_open_task", "retry_backorders_task"]


@shared_task(
    name="orders.rescore_open",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=240,
    soft_time_limit=200,
    ignore_result=True,
)
def rescore_open_task(account_id: str | None = None) -> int:
    """Every 5 minutes: re-score open orders as their ship-by nears (priority.rescore_open_orders).

    Time limit under the 5-minute interval so two sweeps do not pile up; returns orders changed.
    """
    return rescore_open_orders(account=account_id)


@shared_task(
    name="orders.retry_backorders",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=240,
    soft_time_limit=200,
    ignore_result=True,
)
def retry_backorders_task() -> int:
    """Every 5 minutes: backordered orders whose stock has arrived are reserved and routed again."""
    return backorders_retry()
