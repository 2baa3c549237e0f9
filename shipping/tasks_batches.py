"""Label batch tasks: thin, take ids, call one service (shipping.services.batches).

Imported by shipping/tasks.py. Routed to `integrations` by CELERY_TASK_ROUTES (`shipping.*`). Both
are queued through the outbox, which runs them in process: there a retry is the outbox's own
backoff; sent directly, `self.retry` puts the message back with a countdown.
"""

from __future__ import annotations

from celery import shared_task

from .services.batches import batch_item_purchase, batch_merge

__all__ = ["batch_item_purchase_task", "batch_merge_task"]

BUSY_RETRY_SECONDS = 5

_COMMON = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(
    bind=True,
    name="shipping.batch_item_purchase",
    time_limit=180,
    soft_time_limit=150,
    max_retries=60,
    **_COMMON,
)
def batch_item_purchase_task(self, item_id: int) -> str:
    """Buy one batch item's label. Another worker buying the same order ("busy"): try again shortly."""
    outcome = batch_item_purchase(item_id=item_id)
    if outcome == "busy":
        raise self.retry(countdown=BUSY_RETRY_SECONDS)
    return outcome


@shared_task(name="shipping.batch_merge", time_limit=600, soft_time_limit=540, **_COMMON)
def batch_merge_task(batch_id: str) -> str:
    """Build the batch's merged PDF of labels and packing slips and finish the batch."""
    return batch_merge(batch_id=batch_id)
