"""Writes for the outbox: enqueue in the caller's transaction, dispatch, run once, redispatch.

The life of a message::

    pending ──dispatch──▶ dispatched ──claim──▶ running ──▶ done
       ▲ (broker down: stays pending,  ▲            │
       │  beat re-sends)               └─ retry ◀───┤ (exception; after OUTBOX_RETRY.max_attempts: failed)
       └──────── requeue (staff) ◀── failed

Every transition is one conditional UPDATE. A message delivered twice (beat re-send, redelivery
after a lost worker) runs its task at most once at a time and never again once done.
"""

from __future__ import annotations

import functools
import json
import logging
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from creatorflow.audit.facade import audit_log
from creatorflow.resilience.retry import RetryPolicy

from .models import CLAIMABLE_STATUSES, OutboxMessage, OutboxStatus
from .publishing import broker_connection, publish

logger = logging.getLogger(__name__)

Status = OutboxStatus

OUTBOX_RETRY = RetryPolicy(max_attempts=6, base_seconds=10.0, cap_seconds=600.0)

# on_commit normally sends within milliseconds; a row pending for longer missed its dispatch.
PENDING_GRACE = timedelta(seconds=5)
# Sent but never started: the message was lost (or the queue is very long). Sent again after this.
DISPATCH_TIMEOUT = timedelta(minutes=15)
# Running for longer than the task's hard time limit plus this: its worker died.
RUNNING_MARGIN = timedelta(seconds=60)
REDISPATCH_BATCH = 500
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
    outcome: str  # "done", "failed" (will retry), "gave_up", "skipped"
    retry_in: float | None = None


def outbox_enqueue(
    *, task: str, kwargs: dict | None = None, queue: str = "default", key: str | None = None
) -> EnqueuedMessage:
    """Record that `task(**kwargs)` must run once this transaction commits.

    Precondition: called inside the caller's ``transaction.atomic()`` together with the writes
    that make the task necessary; outside one it raises OutboxUsageError, because then the row and
    those writes could not commit or roll back together. A rollback leaves no row and sends nothing.

    Idempotent on `key`: enqueueing an existing key returns that message (created=False) and sends
    nothing new, whatever its state. Without a key every call is a new message. The duplicate check
    is the unique constraint (INSERT in a savepoint), not a read, so concurrent callers are safe.
    `kwargs` must be JSON (ids, not objects); the task runs through `outbox.deliver` (outbox_run).
    """
    if not transaction.get_connection().in_atomic_block:
        raise OutboxUsageError("outbox_enqueue must be called inside the caller's transaction.atomic().")
    if queue not in settings.CELERY_QUEUES:
        raise ValueError(f"unknown queue {queue!r}; use one of {settings.CELERY_QUEUES}")
    kwargs = kwargs or {}
    json.dumps(kwargs)  # fail here, in the caller, rather than at commit time
    key = key or f"auto:{uuid.uuid4().hex}"
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(task=task, kwargs=kwargs, queue=queue, key=key)
    except IntegrityError:
        message = OutboxMessage.objects.filter(key=key).first()
        if message is None:
            raise
        if message.task != task:
            raise OutboxUsageError(
                f"key {key!r} already belongs to task {message.task!r}, not {task!r}"
            ) from None
        return _enqueued(message, created=False)
    transaction.on_commit(partial(outbox_dispatch, message_id=message.pk))
    return _enqueued(message, created=True)


def outbox_dispatch(*, message_id: int, connection=None) -> bool | None:
    """Send the delivery message for a pending or dispatched row; never raises.

    Returns True when sent, False when the broker refused, None when the row no longer waits.

    Runs after commit (on_commit) or from beat, outside any transaction. If the broker refuses,
    the row keeps its state with the error recorded, and beat sends it later. Sending twice is
    harmless: the claim in outbox_run lets one delivery run. The delivery carries the target
    task's own time limits, so the worker enforces them on the wrapper.
    """
    from .tasks import deliver_outbox_message

    message = (
        OutboxMessage.objects.filter(pk=message_id, status__in=CLAIMABLE_STATUSES)
        .only("pk", "task", "queue", "status")
        .first()
    )
    if message is None:
        return None
    try:
        publish(
            deliver_outbox_message,
            args=[message.pk],
            queue=message.queue,
            connection=connection,
            **_time_limits(message.task),
        )
    except Exception as exc:
        OutboxMessage.objects.filter(pk=message.pk, status__in=CLAIMABLE_STATUSES).update(
            last_error=f"dispatch failed: {exc!r}"[:MAX_ERROR_CHARS]
        )
        logger.warning("outbox: could not dispatch message %s; beat will retry", message.pk, exc_info=True)
        return False
    # A fast worker may already have claimed (or even finished) the message: only a row still
    # waiting becomes `dispatched`; the send is counted either way.
    waiting = When(status__in=CLAIMABLE_STATUSES, then=Value(Status.DISPATCHED))
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Case(waiting, default=F("status")),
        dispatched_at=Case(
            When(status__in=CLAIMABLE_STATUSES, then=Value(timezone.now())), default=F("dispatched_at")
        ),
        dispatches=F("dispatches") + 1,
    )
    return True


def outbox_run(*, message_id: int) -> RunResult:
    """Claim the message and run its task in this process; record the outcome. No transaction.

    The claim (pending/dispatched and due → running, attempts + 1) is one conditional UPDATE, so a
    second delivery of a running or done message does nothing ("skipped"). The task is called in
    process (``task(**kwargs)``): its body runs here, under this delivery's time limit. An exception
    schedules a retry with OUTBOX_RETRY backoff; after max_attempts the message is `failed`. A task
    unknown to this worker counts as a failure (an older worker during a deploy), not as done.
    """
    started = timezone.now()
    claimed = OutboxMessage.objects.filter(
        pk=message_id, status__in=CLAIMABLE_STATUSES, next_attempt_at__lte=started
    ).update(status=Status.RUNNING, started_at=started, attempts=F("attempts") + 1)
    if not claimed:
        return RunResult("skipped")
    message = OutboxMessage.objects.get(pk=message_id)
    # Fenced on our claim: if beat reset a stuck run and another delivery claimed it, leave it be.
    mine = OutboxMessage.objects.filter(pk=message_id, status=Status.RUNNING, started_at=started)
    try:
        task = current_app.tasks[message.task]
        task(**message.kwargs)
    except Exception as exc:
        return _record_failure(message, mine, exc)
    mine.update(status=Status.DONE, completed_at=timezone.now(), last_error="")
    return RunResult("done")


def _record_failure(message: OutboxMessage, mine, exc: BaseException) -> RunResult:
    now = timezone.now()
    error = "".join(traceback.format_exception(exc))[-MAX_ERROR_CHARS:]
    if OUTBOX_RETRY.exhausted(message.attempts):
        mine.update(status=Status.FAILED, last_error=error, completed_at=now)
        logger.error("outbox: message %s (%s) failed for good: %s", message.pk, message.task, exc)
        return RunResult("gave_up")
    delay = OUTBOX_RETRY.backoff(message.attempts)
    due = now + timedelta(seconds=delay)
    # The retry message is sent by the task (countdown = delay); counting it as dispatched at its due
    # time makes beat wait DISPATCH_TIMEOUT past that before assuming it was lost.
    mine.update(status=Status.DISPATCHED, last_error=error, next_attempt_at=due, dispatched_at=due)
    logger.warning(
        "outbox: message %s attempt %s failed, retry in %.0fs: %s", message.pk, message.attempts, delay, exc
    )
    return RunResult("failed", retry_in=delay)


def outbox_redispatch() -> dict[str, int]:
    """Beat: send again whatever the normal path lost. Idempotent; duplicates are absorbed by the claim.

    - `pending` and due for more than PENDING_GRACE: the broker was down at commit (or the process
      died between commit and send).
    - `dispatched` for more than DISPATCH_TIMEOUT without starting: the message was lost.
    - `running` past its task's hard time limit + RUNNING_MARGIN: the worker died. The attempt
      counts; the message is dispatched again, or `failed` if that was its last attempt.
    """
    now = timezone.now()
    reset = gave_up = 0
    # Only a handful of rows run at any time (bounded by worker concurrency): check each one
    # against its own task's limit.
    candidates = list(
        OutboxMessage.objects.filter(status=Status.RUNNING, started_at__lt=now - RUNNING_MARGIN)
        .only("pk", "task", "attempts", "started_at")
        .order_by("started_at")[:REDISPATCH_BATCH]
    )
    for message in candidates:
        limit = _time_limits(message.task).get("time_limit") or settings.CELERY_TASK_TIME_LIMIT
        if message.started_at >= now - timedelta(seconds=limit) - RUNNING_MARGIN:
            continue
        stuck = OutboxMessage.objects.filter(
            pk=message.pk, status=Status.RUNNING, started_at=message.started_at
        )
        error = f"running for more than {limit}s + {int(RUNNING_MARGIN.total_seconds())}s (worker lost?)"
        if OUTBOX_RETRY.exhausted(message.attempts):
            gave_up += stuck.update(status=Status.FAILED, last_error=error, completed_at=now)
        else:
            reset += stuck.update(
                status=Status.PENDING, last_error=error, next_attempt_at=now - PENDING_GRACE
            )

    due = list(
        OutboxMessage.objects.filter(status=Status.PENDING, next_attempt_at__lte=now - PENDING_GRACE)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:REDISPATCH_BATCH]
    )
    due += list(
        OutboxMessage.objects.filter(status=Status.DISPATCHED, dispatched_at__lte=now - DISPATCH_TIMEOUT)
        .order_by("dispatched_at", "pk")
        .values_list("pk", flat=True)[:REDISPATCH_BATCH]
    )
    sent = 0
    if due:
        with broker_connection() as connection:
            for pk in due:
                outcome = outbox_dispatch(message_id=pk, connection=connection)
                if outcome is False:
                    break  # the broker is down: the next run tries again
                sent += bool(outcome)
    if due or reset or gave_up:
        logger.info(
            "outbox redispatch: %s/%s sent, %s stuck reset, %s gave up", sent, len(due), reset, gave_up
        )
    return {"due": len(due), "sent": sent, "reset": reset, "gave_up": gave_up}


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
            transaction.on_commit(partial(outbox_dispatch, message_id=message.pk))
            audit_log(
                actor=actor,
                action="outbox.requeue",
                target=message,
                changes={"status": ["failed", "pending"]},
            )
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
