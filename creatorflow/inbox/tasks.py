"""Inbox tasks: thin wrappers that load by id and call one service.

`inbox.process_event` takes an event id only. A failed attempt is not retried by Celery: the
service makes the row due again after its backoff (from the row's attempt count, which survives
redeliveries), and the relay sends a new message when it is due. No message ever sleeps in a worker.
"""

from __future__ import annotations

from celery import shared_task

from .services import PROCESS_TIME_LIMIT, inbox_process, inbox_sweep


@shared_task(
    name="inbox.process_event",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=PROCESS_TIME_LIMIT,
    soft_time_limit=PROCESS_TIME_LIMIT - 20,
    ignore_result=True,
)
def process_inbound_event(event_id: int) -> str:
    """Process one stored event exactly once (see services.inbox_process)."""
    return inbox_process(event_id=event_id).outcome


@shared_task(
    name="inbox.sweep",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=120,
    soft_time_limit=100,
    ignore_result=True,
)
def sweep_inbox() -> dict:
    """Beat: free events whose worker died, recover lost messages, send what is due (inbox_sweep)."""
    return inbox_sweep()
