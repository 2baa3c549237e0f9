"""Writes for the webhook inbox: store once, claim once, record the outcome, sweep, replay.

The life of an event::

    received ──claim──▶ processing ──▶ done            (handler returned, or no handler: ignored)
       ▲                    │
       │                    └──▶ failed ──(due)──▶ claim again …  ──▶ dead after INBOX_RETRY.max_attempts
       └────────── replay (staff) ◀── dead / failed

Every transition is one conditional UPDATE, so two workers holding the same event id (a duplicate
delivery, a redelivery after a lost worker, a retry racing the beat sweeper) can never both run it.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from creatorflow.audit.facade import audit_log
from creatorflow.outbox.publishing import broker_connection, publish
from creatorflow.resilience.retry import RetryPolicy

from .models import CLAIMABLE_STATUSES, InboundEvent, InboundEventStatus
from .registry import InboundEventData, handler_for

logger = logging.getLogger(__name__)

Status = InboundEventStatus

# Webhook work mostly fails because the platform's API is down or rate limiting: back off over
# roughly 45 minutes (15 s doubling, capped at 15 min) before giving up and parking the event.
INBOX_RETRY = RetryPolicy(max_attempts=8, base_seconds=15.0, cap_seconds=900.0)

# The processing task's hard time limit. An event still `processing` well past it lost its worker.
PROCESS_TIME_LIMIT = 120
STUCK_PROCESSING_AFTER = timedelta(seconds=PROCESS_TIME_LIMIT + 60)

# A due event is normally claimed within a second of its message; the sweeper only re-sends events
# overdue by more than this, so a merely busy queue is not flooded with duplicate messages.
OVERDUE_GRACE = timedelta(seconds=120)
SWEEP_BATCH = 200

MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class ProcessResult:
    """What one task run did. `retry_in` is set when the task should retry after that many seconds."""

    outcome: str  # "done", "ignored", "failed", "dead", "skipped"
    retry_in: float | None = None


def inbox_store(
    *,
    provider: str,
    external_id: str,
    event_type: str,
    body: bytes,
    headers: dict | None = None,
    source: str = "",
) -> tuple[InboundEvent, bool]:
    """Store a received event once; return it and whether this call created it.

    Race-free without exists-then-insert: the INSERT runs in a savepoint and the unique constraint
    on (provider, external_id) rejects a duplicate, which is then read back. On PostgreSQL a
    concurrent duplicate INSERT waits for the first transaction and fails once it commits, so every
    caller sees the one row. Processing is dispatched only for a new row, and only after the
    surrounding transaction commits (`on_commit`); if the broker is down then, the row stays
    `received` and the sweeper dispatches it later. May be called inside or outside a transaction.
    """
    if not provider or not external_id:
        raise ValueError("provider and external_id are required to store an event once.")
    now = timezone.now()
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                provider=provider,
                external_id=external_id,
                event_type=str(event_type or ""),
                source=str(source or "")[:100],
                body=bytes(body),
                headers=headers or {},
                status=Status.RECEIVED,
                received_at=now,
                next_attempt_at=now,
            )
    except IntegrityError:
        event = InboundEvent.objects.filter(provider=provider, external_id=external_id).first()
        if event is None:  # some other constraint failed: not a duplicate
            raise
        return event, False
    transaction.on_commit(partial(inbox_dispatch, event_id=event.pk))
    return event, True


def inbox_dispatch(*, event_id: int, connection=None) -> bool:
    """Send the processing task for one event. Never raises: a failed send is retried by the sweeper.

    Sending twice is harmless (the claim lets one message through), so callers need no locking.
    The publish retries briefly then gives up, so a webhook request never hangs on a dead broker.
    """
    from .tasks import process_inbound_event

    try:
        publish(process_inbound_event, args=[event_id], connection=connection)
    except Exception:
        logger.warning("inbox: could not dispatch event %s; the sweeper will retry", event_id, exc_info=True)
        return False
    return True


def inbox_process(*, event_id: int) -> ProcessResult:
    """Claim the event, run its handler, record the outcome. Runs outside any transaction.

    The claim is one conditional UPDATE (received/failed and due → processing, attempts + 1): only one
    caller wins it, so duplicates and redeliveries are no-ops (outcome "skipped"). Counting the
    attempt at claim time means an event that kills its worker still reaches `dead`. The handler
    runs without a transaction because it may call out to the platform; it must be idempotent
    (see registry). No handler for the type: the event is done and flagged `ignored`.
    """
    started = timezone.now()
    claimed = (
        InboundEvent.objects.filter(pk=event_id, status__in=CLAIMABLE_STATUSES)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=started))
        .update(
            status=Status.PROCESSING,
            processing_started_at=started,
            processing_finished_at=None,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return ProcessResult("skipped")
    event = InboundEvent.objects.get(pk=event_id)
    # Later updates are fenced on our claim's start time: if the sweeper reset a stuck run and
    # someone else claimed it since, this run must not overwrite their state.
    mine = InboundEvent.objects.filter(pk=event_id, status=Status.PROCESSING, processing_started_at=started)

    handler = handler_for(event.provider, event.event_type)
    if handler is None:
        mine.update(
            status=Status.DONE, ignored=True, processing_finished_at=timezone.now(), next_attempt_at=None
        )
        logger.info(
            "inbox: no handler for %s/%s, event %s ignored", event.provider, event.event_type, event.pk
        )
        return ProcessResult("ignored")

    try:
        handler(_as_data(event))
    except Exception as exc:
        return _record_failure(event, mine, exc)
    mine.update(
        status=Status.DONE,
        ignored=False,
        processing_finished_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
    )
    return ProcessResult("done")


def _record_failure(event: InboundEvent, mine, exc: BaseException) -> ProcessResult:
    now = timezone.now()
    error = _error_text(exc)
    if INBOX_RETRY.exhausted(event.attempts):
        mine.update(status=Status.DEAD, last_error=error, processing_finished_at=now, next_attempt_at=None)
        logger.error("inbox: event %s is dead after %s attempts: %s", event.pk, event.attempts, exc)
        return ProcessResult("dead")
    delay = INBOX_RETRY.backoff(event.attempts)
    mine.update(
        status=Status.FAILED,
        last_error=error,
        processing_finished_at=now,
        next_attempt_at=now + timedelta(seconds=delay),
    )
    logger.warning(
        "inbox: event %s attempt %s failed, retry in %.0fs: %s", event.pk, event.attempts, delay, exc
    )
    return ProcessResult("failed", retry_in=delay)


def inbox_replay(*, event_ids, actor=None) -> int:
    """Put dead or failed events back to `received` with a fresh attempt budget and dispatch them.

    Events in any other state are left alone (replaying a done event would redo its work). The
    rows are locked in primary-key order while they change; dispatch happens after commit.
    Returns how many events were replayed.
    """
    ids = [int(pk) for pk in event_ids]
    now = timezone.now()
    with transaction.atomic():
        events = list(
            InboundEvent.objects.select_for_update()
            .filter(pk__in=ids, status__in=(Status.DEAD, Status.FAILED))
            .order_by("pk")
            .only("pk", "provider", "event_type", "external_id", "status")
        )
        chosen = [event.pk for event in events]
        InboundEvent.objects.filter(pk__in=chosen).update(
            status=Status.RECEIVED,
            attempts=0,
            next_attempt_at=now,
            processing_started_at=None,
            processing_finished_at=None,
        )
        for event in events:
            transaction.on_commit(partial(inbox_dispatch, event_id=event.pk))
            audit_log(
                actor=actor,
                action="inbox.replay",
                target=event,
                changes={"status": [event.status, "received"]},
            )
    logger.info("inbox: %s replayed events %s", actor or "system", chosen)
    return len(chosen)


def inbox_sweep() -> dict[str, int]:
    """Recover events the normal path lost. Idempotent; safe to run from several beats at once.

    1. `processing` for longer than the task's hard time limit: the worker died. The attempt counts;
       the event becomes `failed` (due now) or `dead` if that was its last attempt.
    2. `received`/`failed` and overdue by more than OVERDUE_GRACE (broker down at receipt, retry
       message lost): dispatched again, oldest first, at most SWEEP_BATCH per run.
    """
    now = timezone.now()
    stale = InboundEvent.objects.filter(
        status=Status.PROCESSING, processing_started_at__lt=now - STUCK_PROCESSING_AFTER
    )
    message = (
        f"processing did not finish within {int(STUCK_PROCESSING_AFTER.total_seconds())}s (worker lost?)"
    )
    dead = stale.filter(attempts__gte=INBOX_RETRY.max_attempts).update(
        status=Status.DEAD, last_error=message, processing_finished_at=now, next_attempt_at=None
    )
    reset = stale.update(
        status=Status.FAILED, last_error=message, processing_finished_at=now, next_attempt_at=now
    )

    overdue = list(
        InboundEvent.objects.filter(status__in=CLAIMABLE_STATUSES, next_attempt_at__lte=now - OVERDUE_GRACE)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if reset:
        overdue += list(
            InboundEvent.objects.filter(status=Status.FAILED, next_attempt_at=now)
            .exclude(pk__in=overdue)
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
    dispatched = 0
    if overdue:
        with broker_connection() as connection:
            for pk in overdue:
                if not inbox_dispatch(event_id=pk, connection=connection):
                    break  # the broker is down: the next sweep tries again
                dispatched += 1
    if dead or reset or overdue:
        logger.info("inbox sweep: %s dead, %s reset, %s/%s dispatched", dead, reset, dispatched, len(overdue))
    return {"dead": dead, "reset": reset, "dispatched": dispatched, "overdue": len(overdue)}


def _as_data(event: InboundEvent) -> InboundEventData:
    return InboundEventData(
        id=event.pk,
        provider=event.provider,
        external_id=event.external_id,
        event_type=event.event_type,
        body=event.body_bytes,
        headers=dict(event.headers or {}),
        received_at=event.received_at,
        attempts=event.attempts,
        source=event.source,
    )


def _error_text(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc))
    return text[-MAX_ERROR_CHARS:]
