"""The relay's passes and its loop.

A pass (`relay_pass`):
1. with `recover`: frees inbox events and outbox rows whose worker died (stale heartbeat), asks the
   broker how many messages wait in each queue and makes every sent-but-lost row due again
   (inbox_recover_lost / outbox_recover_lost: counting, so rows merely waiting in line are left
   alone);
2. sends everything due, in claims of up to 500 rows (FOR UPDATE SKIP LOCKED, one short transaction
   each, published outside it), until nothing is due, the broker refuses, or the budget is spent.

The loop (`run_relay`) runs a pass whenever it is woken (a NOTIFY on PostgreSQL, committed with the
row that needs sending) or every `poll_seconds` otherwise (delays and backoffs fall due with no
notification; SQLite has no NOTIFY), with recovery at most every `recover_every` seconds. When the
broker refuses, it waits a little longer each time (up to `MAX_BACKOFF`) and tries again: rows stay
due meanwhile, so nothing is lost, and the first pass after the broker returns sends them all.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.db import connection as db_connection
from django.utils import timezone

from creatorflow.inbox.services import QUEUE as INBOX_QUEUE
from creatorflow.inbox.services import inbox_recover_lost, inbox_reset_stuck, inbox_send_due
from creatorflow.outbox.publishing import RELAY_CHANNEL, broker_connection, queue_depths
from creatorflow.outbox.services import (
    SEND_BATCH,
    outbox_recover_lost,
    outbox_reset_stuck,
    outbox_send_due,
)

from .models import RelayBeat

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
SQLITE_POLL_SECONDS = 0.25
RECOVER_EVERY = 5.0
BEAT_EVERY = 5.0
MAX_BACKOFF = 5.0


@dataclass(frozen=True)
class PassResult:
    sent: int = 0
    recovered: int = 0
    broker_down: bool = False
    more: bool = False  # stopped by the budget with rows still due


def relay_pass(*, recover: bool = True, budget_seconds: float = 10.0, connection=None) -> PassResult:
    """One pass (see the module docstring). Never raises for a broker that cannot be reached."""
    recovered = 0
    if recover:
        recovered += sum(inbox_reset_stuck().values()) + sum(outbox_reset_stuck().values())
    try:
        if connection is None:
            with broker_connection() as conn:
                return _send(conn, recover=recover, budget_seconds=budget_seconds, recovered=recovered)
        return _send(connection, recover=recover, budget_seconds=budget_seconds, recovered=recovered)
    except Exception:
        logger.warning("relay: the broker cannot be reached; rows stay due", exc_info=True)
        return PassResult(recovered=recovered, broker_down=True)


def _send(conn, *, recover: bool, budget_seconds: float, recovered: int) -> PassResult:
    if recover:
        depths = queue_depths(settings.CELERY_QUEUES, connection=conn)
        recovered += inbox_recover_lost(depth=depths.get(INBOX_QUEUE, 0))
        recovered += outbox_recover_lost(depths=depths)
    deadline = time.monotonic() + budget_seconds
    sent = 0
    while True:
        inbox = inbox_send_due(connection=conn)
        if inbox.broker_down:
            return PassResult(sent=sent + inbox.sent, recovered=recovered, broker_down=True)
        outbox = outbox_send_due(connection=conn)
        sent += inbox.sent + outbox.sent
        if outbox.broker_down:
            return PassResult(sent=sent, recovered=recovered, broker_down=True)
        more = inbox.claimed >= SEND_BATCH or outbox.claimed >= SEND_BATCH
        if not more:
            return PassResult(sent=sent, recovered=recovered)
        if time.monotonic() >= deadline:
            return PassResult(sent=sent, recovered=recovered, more=True)


class _Wakeup:
    """Waits for a NOTIFY on PostgreSQL (its own autocommit connection), or just sleeps elsewhere."""

    def __init__(self, stop: threading.Event, poll_seconds: float):
        self.stop = stop
        self.poll_seconds = poll_seconds
        self.listener = None

    def _listen(self):
        if self.listener is None and db_connection.vendor == "postgresql":
            import psycopg

            params = db_connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            params.pop("prepare_threshold", None)
            self.listener = psycopg.connect(**params, autocommit=True)
            self.listener.execute(f"LISTEN {RELAY_CHANNEL}")
        return self.listener

    def wait(self, timeout: float) -> None:
        try:
            listener = self._listen()
        except Exception as exc:
            logger.warning("relay: cannot LISTEN (%s); polling instead", type(exc).__name__)
            listener = None
        if listener is None:
            self.stop.wait(min(timeout, SQLITE_POLL_SECONDS if db_connection.vendor == "sqlite" else timeout))
            return
        try:
            # One notification is enough to start a pass; the rest are drained so that a burst of
            # commits costs one pass, not one each.
            for _ in listener.notifies(timeout=timeout, stop_after=1):
                pass
            for _ in listener.notifies(timeout=0.0):
                pass
        except Exception as exc:
            logger.warning("relay: the LISTEN connection failed (%s); reconnecting", type(exc).__name__)
            self.close()
            self.stop.wait(min(timeout, 1.0))

    def close(self) -> None:
        if self.listener is not None:
            try:
                self.listener.close()
            except Exception:  # noqa: S110 - a broken connection may fail to close; it is dropped anyway
                pass
            self.listener = None


def run_relay(
    *,
    stop: threading.Event | None = None,
    poll_seconds: float = POLL_SECONDS,
    recover_every: float = RECOVER_EVERY,
    name: str | None = None,
) -> None:
    """Run passes until `stop` is set (see the module docstring). Database errors (the database
    restarting) are logged and waited out, never fatal: the relay is what brings the rows back."""
    stop = stop or threading.Event()
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    wakeup = _Wakeup(stop, poll_seconds)
    started = timezone.now()
    last_recover = last_beat = 0.0
    backoff = 0.0
    totals = {"sent": 0, "recovered": 0}
    broker = None
    logger.info("relay %s started", name)
    try:
        while not stop.is_set():
            now = time.monotonic()
            recover = now - last_recover >= recover_every
            try:
                if broker is None:
                    broker = broker_connection().__enter__()
                result = relay_pass(recover=recover, connection=broker)
            except (OperationalError, InterfaceError) as exc:
                # The database is restarting or unreachable: one line per try, not a traceback.
                logger.warning("relay: the database is unavailable (%s); retrying", type(exc).__name__)
                connections.close_all()
                result = PassResult(broker_down=True)
            except Exception:
                logger.exception("relay: pass failed; retrying")
                connections.close_all()
                result = PassResult(broker_down=True)
            if recover:
                last_recover = now
            totals["sent"] += result.sent
            totals["recovered"] += result.recovered
            if result.broker_down:
                broker = _drop(broker)
                backoff = min(MAX_BACKOFF, max(0.25, backoff * 2))
            else:
                backoff = 0.0
            if now - last_beat >= BEAT_EVERY:
                last_beat = now
                _beat(name, started, totals, broker_ok=not result.broker_down)
            if result.more:
                continue
            if backoff:
                stop.wait(backoff)
            else:
                wakeup.wait(poll_seconds)
    finally:
        wakeup.close()
        _drop(broker)
        RelayBeat.objects.filter(name=name).delete()
        connections.close_all()
        logger.info("relay %s stopped", name)


def _drop(broker):
    if broker is not None:
        try:
            broker.release()
        except Exception:  # noqa: S110 - a broken connection may fail to close; it is dropped anyway
            pass
    return None


def _beat(name: str, started, totals: dict, *, broker_ok: bool) -> None:
    try:
        RelayBeat.objects.update_or_create(
            name=name,
            defaults={
                "started_at": started,
                "beat_at": timezone.now(),
                "sent": totals["sent"],
                "recovered": totals["recovered"],
                "broker_ok": broker_ok,
            },
        )
    except Exception as exc:
        logger.warning("relay: could not record its heartbeat (%s)", type(exc).__name__)
