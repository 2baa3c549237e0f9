"""Writes for the outbox: enqueue in the caller's transaction, send, run once, recover.

The life of a message::

    pending ──send──▶ dispatched ──claim──▶ running ──▶ done
       ▲  (due: not_before,     │              │
       │   backoff)             │              ├──▶ pending, due after the backoff (exception)
       │                        │              └──▶ failed (after OUTBOX_RETRY.max_attempts)
       ├── lost by the broker ◀─┘   (found by counting, sent again at once)
       ├── worker died ◀──────────── running with a stale heartbeat (STALE_AFTER)
       └──────── requeue (staff) ◀── failed

Every transition is one conditional UPDATE. A message delivered twice (a resend, a redelivery after
a lost worker) runs its task at most once at a time and never again once done.

Who sends: the relay (creatorflow/relay) claims due `pending` rows with FOR UPDATE SKIP LOCKED and
publishes them; outside a web request the writer also sends its own row right after commit
(claim-then-publish: `pending → dispatched` first, so the two never both send). A web request never
publishes: it only wakes the relay. A retry or a delay is a row with a due time, never a message
sleeping in a worker, so no countdown ever meets the broker's visibility timeout.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from creatorflow.audit.facade import audit_log
from creatorflow.resilience.heartbeat import STALE_AFTER, beating
from creatorflow.resilience.retry import RetryPolicy

from .models import CLAIMABLE_STATUSES, OutboxMessage, OutboxStatus
from .publishing import (
    broker_connection,
    dispatch_deferred,
    lost_filter,
    notify_relay,
    publish,
    queue_depths,
)

logger = logging.getLogger(__name__)

Status = OutboxStatus

OUTBOX_RETRY = RetryPolicy(max_attempts=6, base_seconds=10.0, cap_seconds=600.0)

SEND_BATCH = 500
# A sent message not claimed after this long may have been lost (publishing.lost_filter decides).
LOST_AFTER = timedelta(seconds=10)
DONE_RETENTION = timedelta(days=14)

MAX_ERROR_CHARS = 4000


class OutboxUsageError(RuntimeError):
    """The outbox was used in a way that could lose or duplicate work (a programming error)."""


@dataclass(frozen=True)
class EnqueuedMessage:
    id: int
    key: str
    task: str
    status: str
    created: bool


@dataclass(frozen=True)
class RunResult:
    outcome: str  # "done", "failed" (due again later), "gave_up", "skipped"
    retry_in: float | None = None


@dataclass(frozen=True)
class SendResult:
    sent: int
    claimed: int
    broker_down: bool = False


def outbox_enqueue(
    *,
    task: str,
    kwargs: dict | None = None,
    queue: str = "default",
    key: str | None = None,
    not_before=None,
) -> EnqueuedMessage:
    """Record that `task(**kwargs)` must run once this transaction commits.

    Precondition: called inside the caller's ``transaction.atomic()`` together with the writes
    that make the task necessary; outside one it raises OutboxUsageError, because then the row and
    those writes could not commit or roll back together. A rollback leaves no row and sends nothing.

    Idempotent on `key`: enqueueing an existing key returns that message (created=False) and sends
    nothing new, whatever its state. Without a key every call is a new message. The duplicate check
    is the unique constraint (INSERT in a savepoint), not a read, so concurrent callers are safe.
    `kwargs` must be JSON (ids, not objects); the task runs through `outbox.deliver` (outbox_run).
    `not_before` (an aware datetime) delays the task: it is sent once it is due, never as a
    sleeping broker message, so a delay of an hour costs nothing while it waits.
    """
    if not transaction.get_connection().in_atomic_block:
        raise OutboxUsageError("outbox_enqueue must be called inside the caller's transaction.atomic().")
    if queue not in settings.CELERY_QUEUES:
        raise ValueError(f"unknown queue {queue!r}; use one of {settings.CELERY_QUEUES}")
    kwargs = kwargs or {}
    json.dumps(kwargs)  # fail here, in the caller, rather than at commit time
    key = key or f"auto:{uuid.uuid4().hex}"
    now = timezone.now()
    due = max(now, not_before) if not_before is not None else now
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                task=task, kwargs=kwargs, queue=queue, key=key, created_at=now, next_attempt_at=due
            )
    except IntegrityError:
        message = OutboxMessage.objects.filter(key=key).first()
        if message is None:
            raise
        if message.task != task:
            raise OutboxUsageError(
                f"key {key!r} already belongs to task {message.task!r}, not {task!r}"
            ) from None
        return _enqueued(message, created=False)
    if due <= now:
        if dispatch_deferred():
            notify_relay()
        else:
            transaction.on_commit(partial(outbox_dispatch, message_id=message.pk))
    return _enqueued(message, created=True)


def _due(now):
    return OutboxMessage.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)


def outbox_dispatch(*, message_id: int, connection=None) -> bool | None:
    """Send the delivery message for one due `pending` row; never raises.

    Returns True when this call sent it, False when the broker refused (the row is pending and due
    again, for the relay), None when the row does not wait for a message (already sent, running,
    done, or not due yet). Claim-then-publish: the row becomes `dispatched` before the publish, so
    the relay and this caller never both send it.
    """
    now = timezone.now()
    if not _due(now).filter(pk=message_id).update(status=Status.DISPATCHED, dispatched_at=now):
        return None
    sent = _publish_or_unclaim([message_id], connection=connection)
    return sent == 1


def _publish_or_unclaim(ids: list[int], *, connection=None, retry: bool = True) -> int:
    """Publish each claimed (dispatched) id; on the first failure give the rest back. Returns sent.

    The delivery carries the target task's own time limits and goes to the row's queue, so the
    worker enforces them on the wrapper.
    """
    from .tasks import deliver_outbox_message

    rows = {
        pk: (task, queue)
        for pk, task, queue in OutboxMessage.objects.filter(pk__in=ids).values_list("pk", "task", "queue")
    }
    for index, pk in enumerate(ids):
        if pk not in rows:
            continue
        task_name, queue = rows[pk]
        try:
            publish(
                deliver_outbox_message,
                args=[pk],
                queue=queue,
                connection=connection,
                retry=retry,
                **_time_limits(task_name),
            )
        except Exception as exc:
            logger.warning("outbox: broker refused message %s; the relay will retry", pk, exc_info=True)
            OutboxMessage.objects.filter(pk__in=ids[index:], status=Status.DISPATCHED).update(
                status=Status.PENDING,
                dispatched_at=None,
                last_error=f"dispatch failed: {exc!r}"[:MAX_ERROR_CHARS],
            )
            return index
    OutboxMessage.objects.filter(pk__in=ids).update(dispatches=F("dispatches") + 1)
    return len(ids)


def outbox_send_due(*, connection=None, limit: int = SEND_BATCH) -> SendResult:
    """The relay's step: claim up to `limit` due pending rows (SKIP LOCKED) in one short
    transaction, then publish them outside it."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            _due(now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            OutboxMessage.objects.filter(pk__in=ids).update(status=Status.DISPATCHED, dispatched_at=now)
    if not ids:
        return SendResult(sent=0, claimed=0)
    sent = _publish_or_unclaim(ids, connection=connection, retry=False)
    return SendResult(sent=sent, claimed=len(ids), broker_down=sent < len(ids))


def outbox_recover_lost(*, depths: dict[str, int] | None = None, now=None) -> int:
    """Find sent messages the broker no longer has and make them pending (due at once).

    Per queue, first in first out: of the rows sent, not yet claimed and older than LOST_AFTER,
    those beyond the ones still waiting in the queue were lost (publishing.lost_filter). `depths`
    None asks the broker for every queue.
    """
    now = now or timezone.now()
    if depths is None:
        depths = queue_depths(settings.CELERY_QUEUES)
    recovered = 0
    for queue in settings.CELERY_QUEUES:
        sent = OutboxMessage.objects.filter(
            status=Status.DISPATCHED, queue=queue, dispatched_at__lt=now - LOST_AFTER
        )
        lost = lost_filter(sent, depth=depths.get(queue, 0), now=now)
        if lost is not None:
            recovered += sent.filter(lost).update(
                status=Status.PENDING, last_error="the broker lost the message; sent again"
            )
    if recovered:
        logger.warning("outbox: %s sent messages were lost by the broker; sending them again", recovered)
    return recovered


def outbox_reset_stuck(*, now=None) -> dict[str, int]:
    """`running` rows whose heartbeat stopped for STALE_AFTER lost their worker: pending and due at
    once (the attempt counts), or `failed` if that was the last attempt."""
    now = now or timezone.now()
    stale = OutboxMessage.objects.annotate(beat=Coalesce("heartbeat_at", "started_at")).filter(
        status=Status.RUNNING, beat__lt=now - timedelta(seconds=STALE_AFTER)
    )
    error = f"the worker stopped reporting for {STALE_AFTER:.0f} s (lost?)"
    gave_up = stale.filter(attempts__gte=OUTBOX_RETRY.max_attempts).update(
        status=Status.FAILED, last_error=error, completed_at=now
    )
    reset = stale.update(status=Status.PENDING, last_error=error, next_attempt_at=now)
    if gave_up or reset:
        logger.warning("outbox: %s messages lost their worker (%s gave up)", gave_up + reset, gave_up)
    return {"reset": reset, "gave_up": gave_up}


def outbox_run(*, message_id: int) -> RunResult:
    """Claim the message and run its task in this process; record the outcome. No transaction.

    The claim (pending/dispatched and due → running, attempts + 1) is one conditional UPDATE, so a
    second delivery of a running or done message does nothing ("skipped"). The task is called in
    process (``task(**kwargs)``): its body runs here, under this delivery's time limit, with a
    heartbeat keeping the claim fresh. An exception makes the row pending again, due after the
    OUTBOX_RETRY backoff (or later, when the error carries a `retry_after`, e.g. an open breaker);
    after max_attempts the message is `failed`. A task unknown to this worker counts as a failure
    (an older worker during a deploy), not as done.
    """
    started = timezone.now()
    claimed = OutboxMessage.objects.filter(
        pk=message_id, status__in=CLAIMABLE_STATUSES, next_attempt_at__lte=started
    ).update(status=Status.RUNNING, started_at=started, heartbeat_at=started, attempts=F("attempts") + 1)
    if not claimed:
        return RunResult("skipped")
    message = OutboxMessage.objects.get(pk=message_id)
    # Fenced on our claim: if the relay freed a stuck run and another delivery claimed it, leave it be.
    mine = OutboxMessage.objects.filter(pk=message_id, status=Status.RUNNING, started_at=started)
    try:
        task = current_app.tasks[message.task]
        with beating(partial(_renew_claim, message_id=message_id, started=started)):
            task(**message.kwargs)
    except Exception as exc:
        return _record_failure(message, mine, exc)
    mine.update(status=Status.DONE, completed_at=timezone.now(), last_error="")
    return RunResult("done")


def _renew_claim(*, message_id: int, started) -> None:
    OutboxMessage.objects.filter(pk=message_id, status=Status.RUNNING, started_at=started).update(
        heartbeat_at=Now()
    )


def _record_failure(message: OutboxMessage, mine, exc: BaseException) -> RunResult:
    now = timezone.now()
    error = "".join(traceback.format_exception(exc))[-MAX_ERROR_CHARS:]
    if OUTBOX_RETRY.exhausted(message.attempts):
        mine.update(status=Status.FAILED, last_error=error, completed_at=now)
        logger.error("outbox: message %s (%s) failed for good: %s", message.pk, message.task, exc)
        return RunResult("gave_up")
    retry_after = getattr(exc, "retry_after", None)
    retry_after = float(retry_after) if isinstance(retry_after, (int, float)) and retry_after > 0 else None
    delay = OUTBOX_RETRY.backoff(message.attempts, retry_after=retry_after)
    mine.update(status=Status.PENDING, last_error=error, next_attempt_at=now + timedelta(seconds=delay))
    logger.warning(
        "outbox: message %s attempt %s failed, retry in %.0fs: %s", message.pk, message.attempts, delay, exc
    )
    return RunResult("failed", retry_in=delay)


def outbox_redispatch(*, budget_seconds: float = 50.0) -> dict[str, int]:
    """Free stuck runs, recover lost messages and send everything due, looping until nothing is
    left or the budget is spent. The relay does this continuously; beat runs it as the safety net.
    Idempotent; duplicates are absorbed by the claim. Stops when the broker refuses."""
    deadline = time.monotonic() + budget_seconds
    totals = {"reset": 0, "gave_up": 0, "recovered": 0, "sent": 0, "broker_down": 0}
    stuck = outbox_reset_stuck()
    totals["reset"], totals["gave_up"] = stuck["reset"], stuck["gave_up"]
    try:
        with broker_connection() as connection:
            totals["recovered"] = outbox_recover_lost(
                depths=queue_depths(settings.CELERY_QUEUES, connection=connection)
            )
            while time.monotonic() < deadline:
                result = outbox_send_due(connection=connection)
                totals["sent"] += result.sent
                if result.broker_down:
                    totals["broker_down"] = 1
                    break
                if result.claimed < SEND_BATCH:
                    break
    except Exception:
        logger.warning("outbox redispatch: the broker cannot be reached; everything stays due", exc_info=True)
        totals["broker_down"] = 1
    if any(totals.values()):
        logger.info("outbox redispatch: %s", totals)
    return totals


def outbox_requeue(*, message_ids, actor=None) -> int:
    """Staff: give failed messages a fresh attempt budget and send them again after commit."""
    ids = [int(pk) for pk in message_ids]
    now = timezone.now()
    with transaction.atomic():
        messages = list(
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=ids, status=Status.FAILED)
            .order_by("pk")
            .only("pk", "task", "key", "status")
        )
        chosen = [message.pk for message in messages]
        OutboxMessage.objects.filter(pk__in=chosen).update(
            status=Status.PENDING, attempts=0, next_attempt_at=now, completed_at=None, started_at=None
        )
        for message in messages:
            if not dispatch_deferred():
                transaction.on_commit(partial(outbox_dispatch, message_id=message.pk))
            audit_log(
                actor=actor,
                action="outbox.requeue",
                target=message,
                changes={"status": ["failed", "pending"]},
            )
        if chosen and dispatch_deferred():
            notify_relay()
    logger.info("outbox: %s requeued messages %s", actor or "system", chosen)
    return len(chosen)


def outbox_purge_done() -> int:
    """Beat: delete done messages older than DONE_RETENTION (their keys may then be reused)."""
    deleted, _ = OutboxMessage.objects.filter(
        status=Status.DONE, completed_at__lt=timezone.now() - DONE_RETENTION
    ).delete()
    return deleted


@functools.cache
def _load_task_modules() -> None:
    # Web processes import task modules lazily; the limits below need the registry filled.
    current_app.loader.import_default_modules()


def _time_limits(task_name: str) -> dict:
    if task_name not in current_app.tasks:
        _load_task_modules()
    task = current_app.tasks.get(task_name)
    if task is None:
        return {}
    limits = {"time_limit": task.time_limit, "soft_time_limit": task.soft_time_limit}
    return {k: v for k, v in limits.items() if v}


def _enqueued(message: OutboxMessage, *, created: bool) -> EnqueuedMessage:
    return EnqueuedMessage(
        id=message.pk, key=message.key, task=message.task, status=message.status, created=created
    )
