"""Outbox tasks: thin wrappers that load by id and call one service.

`outbox.deliver` is the only task the outbox sends: it carries a message id, claims the row and
runs the recorded task in process (services.outbox_run). It is sent to the message's own queue and
with the target task's time limits (services.outbox_dispatch), so the declared queue and limits
below are only defaults.
"""

from __future__ import annotations

from celery import shared_task

from .services import outbox_purge_done, outbox_redispatch, outbox_run


@shared_task(
    name="outbox.deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def deliver_outbox_message(message_id: int) -> str:
    """Run one outbox message at most once at a time and never after it is done. A failure makes
    the row due again after its backoff; the relay sends the next delivery then."""
    return outbox_run(message_id=message_id).outcome


@shared_task(
    name="outbox.redispatch",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=120,
    soft_time_limit=100,
    ignore_result=True,
)
def redispatch_outbox() -> dict:
    """Beat: free stuck runs, recover lost messages, send what is due (services.outbox_redispatch)."""
    return outbox_redispatch()


@shared_task(
    name="outbox.purge_done",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=600,
    soft_time_limit=540,
    ignore_result=True,
)
def purge_done_outbox_messages() -> int:
    """Beat: delete done messages past their retention (services.outbox_purge_done)."""
    return outbox_purge_done()
