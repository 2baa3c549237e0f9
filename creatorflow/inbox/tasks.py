"""Inbox tasks: thin wrappers that load by id and call one service.

`inbox.process_event` takes an event id only. Retries are decided by the service from the row's
attempt count (which survives redeliveries and the sweeper), not by Celery's per-message counter;
the countdown comes from `INBOX_RETRY.backoff` and never exceeds the broker's visibility timeout.
"""

from __future__ import annotations

from celery import shared_task

from .services import PROCESS_TIME_LIMIT, inbox_process, inbox_sweep


@shared_task(
    bind=True,
    name="inbox.process_event",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=PROCESS_TIME_LIMIT,
    soft_time_limit=PROCESS_TIME_LIMIT - 20,
    max_retries=None,
    ignore_result=True,
)
def process_inbound_event(self, event_id: int) -> str:
    """Process one stored event exactly once (see services.inbox_process); retry while it fails."""
    result = inbox_process(event_id=event_id)
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in)
    return result.outcome


@shared_task(
    name="inbox.sweep",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=120,
    soft_time_limit=100,
    ignore_result=True,
)
def sweep_inbox() -> dict:
    """Beat: reset events stuck in `processing` and re-dispatch overdue ones (services.inbox_sweep)."""
    return inbox_sweep()
