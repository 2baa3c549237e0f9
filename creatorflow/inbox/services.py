"""Writes for the webhook inbox: store once, send once, claim once, record the outcome, recover, replay.

The life of an event::

    received ──send──▶ (message queued) ──claim──▶ processing ──▶ done   (handler returned, or ignored)
       ▲                                               │
       │                                               └──▶ failed ──(due)──▶ send again … ──▶ dead
       └────────── replay (staff) ◀── dead / failed                        after INBOX_RETRY.max_attempts

Every transition is one conditional UPDATE, so two workers holding the same event id (a duplicate
delivery, a redelivery after a lost worker, a resend by the relay) can never both run it.

Sending is separate from storing. `dispatched_at` is null while the current attempt's message is not
sent: the relay (creatorflow/relay) claims such rows with FOR UPDATE SKIP LOCKED and publishes them;
outside a web request the writer publishes itself right after commit (claim-then-publish, so the two
never both send). A failed attempt is not a sleeping broker message: it becomes `failed` with a due
time and no message, and the relay sends it when due. Recovery needs no grace period:
- a message the broker lost: found by counting (`inbox_recover_lost`), sent again at once;
- a worker that died mid-event: its heartbeat stops, and after STALE_AFTER the event is due again.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from creatorflow.audit.facade import audit_log
from creatorflow.outbox.publishing import (
    broker_connection,
    dispatch_deferred,
    lost_filter,
    notify_relay,
    publish,
    queue_depths,
)
from creatorflow.resilience.heartbeat import STALE_AFTER, beating
from creatorflow.resilience.retry import RetryPolicy

from .models import CLAIMABLE_STATUSES, InboundEvent, InboundEventStatus
from .registry import InboundEventData, handler_for

logger = logging.getLogger(__name__)

Status = InboundEventStatus

# Webhook work mostly fails because the platform's API is down or rate limiting: back off over
# roughly 45 minutes (15 s doubling, capped at 15 min) before giving up and parking the event.
INBOX_RETRY = RetryPolicy(max_attempts=8, base_seconds=15.0, cap_seconds=900.0)

# The processing task's hard time limit.
PROCESS_TIME_LIMIT = 120
QUEUE = "webhooks"

# The relay sends at most this many rows per claim (one short transaction), then claims again.
SEND_BATCH = 500
# A sent message not claimed after this long may have been lost (publishing.lost_filter decides).
LOST_AFTER = timedelta(seconds=10)

MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class ProcessResult:
    """What one task run did: "done", "ignored", "failed" (due again later), "dead" or "skipped"."""

    outcome: str
    retry_in: float | None = None


@dataclass(frozen=True)
class SendResult:
    """One relay claim: how many rows were sent, and whether the broker refused (then stop)."""

    sent: int
    claimed: int
    broker_down: bool = False


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
    caller sees the one row. Only a new row needs a message: inside a web request it is left for the
    relay (woken by a NOTIFY that commits with the row), elsewhere it is sent after commit. Either
    way a broker that is down only delays it: the row is due and the relay sends it when it can.
    May be called inside or outside a transaction.
    """
    if not provider or not external_id:
        raise ValueError("provider and external_id are required to store an event once.")
    now = timezone.now()
    deferred = dispatch_deferred()
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
            if deferred:
                notify_relay()
    except IntegrityError:
        event = InboundEvent.objects.filter(provider=provider, external_id=external_id).first()
        if event is None:  # some other constraint failed: not a duplicate
            raise
        return event, False
    if not deferred:
        transaction.on_commit(partial(inbox_dispatch, event_id=event.pk))
    return event, True


def _unsent():
    return InboundEvent.objects.filter(status__in=CLAIMABLE_STATUSES, dispatched_at__isnull=True)


def inbox_dispatch(*, event_id: int, connection=None) -> bool:
    """Send the processing message for one event whose message is not sent yet; never raises.

    Claim-then-publish: `dispatched_at` is set first (one conditional UPDATE), so the relay and this
    caller never both send it; a failed publish clears it again, which makes the event due for the
    relay at once. Returns True when this call sent it.
    """
    now = timezone.now()
    if not _unsent().filter(pk=event_id, next_attempt_at__lte=now).update(dispatched_at=now):
        return False
    if _publish_or_unclaim([event_id], connection=connection) == 1:
        return True
    logger.warning("inbox: could not dispatch event %s; the relay will retry", event_id)
    return False


def _publish_or_unclaim(ids: list[int], *, connection=None, retry: bool = True) -> int:
    """Publish each claimed id; on the first failure give the rest back (due at once). Returns sent."""
    from .tasks import process_inbound_event

    for index, pk in enumerate(ids):
        try:
            publish(process_inbound_event, args=[pk], connection=connection, retry=retry)
        except Exception:
            logger.warning("inbox: broker refused event %s", pk, exc_info=True)
            InboundEvent.objects.filter(pk__in=ids[index:], status__in=CLAIMABLE_STATUSES).update(
                dispatched_at=None
            )
            return index
    return len(ids)


def inbox_send_due(*, connection=None, limit: int = SEND_BATCH) -> SendResult:
    """The relay's step: claim up to `limit` due, unsent events (SKIP LOCKED: relays running side by
    side take different rows) in one short transaction, then publish them outside it."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            _unsent()
            .filter(next_attempt_at__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            InboundEvent.objects.filter(pk__in=ids).update(dispatched_at=now)
    if not ids:
        return SendResult(sent=0, claimed=0)
    sent = _publish_or_unclaim(ids, connection=connection, retry=False)
    return SendResult(sent=sent, claimed=len(ids), broker_down=sent < len(ids))


def inbox_recover_lost(*, depth: int | None = None, now=None) -> int:
    """Find sent events whose message the broker no longer has, and make them due for sending.

    The webhooks queue is first in, first out, so the `depth` messages still waiting in it are the
    ones sent most recently; of the events sent, not yet claimed and older than LOST_AFTER, the rest
    were lost (publishing.lost_filter, which also allows for messages a worker has reserved). Rows
    merely waiting in line are therefore never sent twice, and after a broker lost its whole queue
    (depth 0) everything it held is recovered at once. `depth=None` asks the broker.
    """
    now = now or timezone.now()
    if depth is None:
        depth = queue_depths([QUEUE])[QUEUE]
    sent = InboundEvent.objects.filter(
        status__in=CLAIMABLE_STATUSES, dispatched_at__isnull=False, dispatched_at__lt=now - LOST_AFTER
    )
    lost = lost_filter(sent, depth=depth, now=now)
    if lost is None:
        return 0
    recovered = sent.filter(lost).update(dispatched_at=None)
    if recovered:
        logger.warning("inbox: %s sent events were lost by the broker; sending them again", recovered)
    return recovered


def inbox_reset_stuck(*, now=None) -> dict[str, int]:
    """Events `processing` whose heartbeat stopped for STALE_AFTER: their worker died.

    The attempt counts (it was counted at claim): the event is due again at once, or `dead` if that
    was its last attempt. A worker that was merely slow and comes back finds its claim gone (its
    updates are fenced on the claim), and the event has run at least once, as handlers allow.
    """
    now = now or timezone.now()
    stale = InboundEvent.objects.annotate(beat=Coalesce("heartbeat_at", "processing_started_at")).filter(
        status=Status.PROCESSING, beat__lt=now - timedelta(seconds=STALE_AFTER)
    )
    message = f"the worker stopped reporting for {STALE_AFTER:.0f} s (lost?)"
    dead = stale.filter(attempts__gte=INBOX_RETRY.max_attempts).update(
        status=Status.DEAD, last_error=message, processing_finished_at=now, next_attempt_at=None
    )
    reset = stale.update(
        status=Status.FAILED,
        last_error=message,
        processing_finished_at=now,
        next_attempt_at=now,
        dispatched_at=None,
    )
    if dead or reset:
        logger.warning(
            "inbox: %s events lost their worker (%s dead, %s due again)", dead + reset, dead, reset
        )
    return {"dead": dead, "reset": reset}


def inbox_process(*, event_id: int) -> ProcessResult:
    """Claim the event, run its handler, record the outcome. Runs outside any transaction.

    The claim is one conditional UPDATE (received/failed and due → processing, attempts + 1): only one
    caller wins it, so duplicates and redeliveries are no-ops (outcome "skipped"). Counting the
    attempt at claim time means an event that kills its worker still reaches `dead`. While the
    handler runs, a heartbeat keeps the claim fresh (inbox_reset_stuck frees it once that stops).
    The handler runs without a transaction because it may call out to the platform; it must be
    idempotent (see registry). No handler for the type: the event is done and flagged `ignored`.
    """
    started = timezone.now()
    claimed = (
        InboundEvent.objects.filter(pk=event_id, status__in=CLAIMABLE_STATUSES)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=started))
        .update(
            status=Status.PROCESSING,
            processing_started_at=started,
            processing_finished_at=None,
            heartbeat_at=started,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return ProcessResult("skipped")
    event = InboundEvent.objects.get(pk=event_id)
    # Later updates are fenced on our claim's start time: if the relay freed a stuck run and
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
        with beating(partial(_renew_claim, event_id=event_id, started=started)):
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


def _renew_claim(*, event_id: int, started) -> None:
    InboundEvent.objects.filter(pk=event_id, status=Status.PROCESSING, processing_started_at=started).update(
        heartbeat_at=Now()
    )


def _record_failure(event: InboundEvent, mine, exc: BaseException) -> ProcessResult:
    """The attempt failed: `dead` after the last attempt, else `failed` and due after the backoff
    (at least what the error asks for, e.g. an open breaker's remaining time). No message is sent
    now: the relay sends one when the event is due."""
    now = timezone.now()
    error = _error_text(exc)
    if INBOX_RETRY.exhausted(event.attempts):
        mine.update(status=Status.DEAD, last_error=error, processing_finished_at=now, next_attempt_at=None)
        logger.error("inbox: event %s is dead after %s attempts: %s", event.pk, event.attempts, exc)
        return ProcessResult("dead")
    delay = INBOX_RETRY.backoff(event.attempts, retry_after=_retry_after(exc))
    mine.update(
        status=Status.FAILED,
        last_error=error,
        processing_finished_at=now,
        next_attempt_at=now + timedelta(seconds=delay),
        dispatched_at=None,
    )
    logger.warning(
        "inbox: event %s attempt %s failed, retry in %.0fs: %s", event.pk, event.attempts, delay, exc
    )
    return ProcessResult("failed", retry_in=delay)


def _retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def inbox_replay(*, event_ids, actor=None) -> int:
    """Put dead or failed events back to `received` with a fresh attempt budget and send them.

    Events in any other state are left alone (replaying a done event would redo its work). The
    rows are locked in primary-key order while they change; they are sent after commit (or by the
    relay). Returns how many events were replayed.
    """
    ids = [int(pk) for pk in event_ids]
    now = timezone.now()
    deferred = dispatch_deferred()
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
            dispatched_at=None,
            processing_started_at=None,
            processing_finished_at=None,
        )
        for event in events:
            if not deferred:
                transaction.on_commit(partial(inbox_dispatch, event_id=event.pk))
            audit_log(
                actor=actor,
                action="inbox.replay",
                target=event,
                changes={"status": [event.status, "received"]},
            )
        if deferred and chosen:
            notify_relay()
    logger.info("inbox: %s replayed events %s", actor or "system", chosen)
    return len(chosen)


def inbox_sweep(*, budget_seconds: float = 50.0) -> dict[str, int]:
    """Recover and send whatever is due, looping until nothing is left or the budget is spent.

    The relay does this continuously; beat runs it too, so that nothing waits for long when no
    relay runs. Idempotent, and safe beside relays and other sweeps (SKIP LOCKED claims). Stops at
    once when the broker refuses: everything stays due for the next pass.
    """
    deadline = time.monotonic() + budget_seconds
    totals = {"dead": 0, "reset": 0, "recovered": 0, "sent": 0, "broker_down": 0}
    stuck = inbox_reset_stuck()
    totals["dead"], totals["reset"] = stuck["dead"], stuck["reset"]
    try:
        with broker_connection() as connection:
            totals["recovered"] = inbox_recover_lost(
                depth=queue_depths([QUEUE], connection=connection)[QUEUE]
            )
            while time.monotonic() < deadline:
                result = inbox_send_due(connection=connection)
                totals["sent"] += result.sent
                if result.broker_down:
                    totals["broker_down"] = 1
                    break
                if result.claimed < SEND_BATCH:
                    break
    except Exception:
        logger.warning("inbox sweep: the broker cannot be reached; everything stays due", exc_info=True)
        totals["broker_down"] = 1
    if any(totals.values()):
        logger.info("inbox sweep: %s", totals)
    return totals


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
