"""Sending a task message from outside a worker (after commit, from the relay, or from a beat sweep).

Each thread keeps one broker connection for the broker URL currently configured and reuses it:
opening a kombu connection to Redis (connect, ping, declare the queue) costs 20–30 ms, which would be
most of a webhook request's time. If the configured URL changes (tests point the app at a dead
broker and back) the thread opens a connection to the new one. A send that fails drops the cached
connection, so the next send starts from a fresh one instead of inheriting a broken socket after a
broker restart. A sweep sends its whole batch over one connection (`broker_connection`).
The publish retries briefly and then raises; callers record the failure on their row and leave it
for the relay, which sends it as soon as the broker answers again.

A web request never publishes at all (DESIGN.md, "Faults"): a broker that is frozen or slow would
hold the answer to a platform that gives us three seconds. Code that writes an inbox or outbox row
checks `dispatch_deferred()`: inside a request (the middleware wraps each one in `defer_dispatch()`)
the row is left for the relay, which `notify_relay()` wakes (PostgreSQL NOTIFY, delivered at commit;
the relay polls where there is no NOTIFY). Everywhere else (workers, beat, commands) the writer
sends the message itself right after commit, which saves the relay's hop.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from celery import current_app
from django.db import connection as db_connection
from django.db.models import Q
from kombu.exceptions import ChannelError

logger = logging.getLogger(__name__)

PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# A publish (or a queue-length query) that cannot finish in this long is a broker that is frozen
# or unreachable: give up and let the row wait, rather than hang a worker or the relay.
SOCKET_OPTIONS = {"socket_timeout": 5.0, "socket_connect_timeout": 3.0}
RELAY_CHANNEL = "cf_relay"

_local = threading.local()
_deferred: contextvars.ContextVar[bool] = contextvars.ContextVar("cf_dispatch_deferred", default=False)


@contextmanager
def defer_dispatch() -> Iterator[None]:
    """Within the block, rows that need a message are left for the relay instead of published."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def dispatch_deferred() -> bool:
    return _deferred.get()


def notify_relay() -> None:
    """Wake the relay. On PostgreSQL a NOTIFY inside a transaction is delivered at its commit (and
    dropped with a rollback), so call it next to the write; elsewhere the relay polls."""
    if db_connection.vendor != "postgresql":
        return
    with db_connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {RELAY_CHANNEL}")


def _write_connection():
    return current_app.connection_for_write(transport_options=_transport_options())


def _transport_options() -> dict:
    url = str(current_app.conf.broker_url or "")
    return dict(SOCKET_OPTIONS) if url.startswith(("redis://", "rediss://")) else {}


@contextmanager
def broker_connection():
    with _write_connection() as connection:
        yield connection


def queue_depths(names: Iterable[str], *, connection=None) -> dict[str, int]:
    """Messages waiting in each named queue (not counting those a worker has already reserved).

    A queue the broker does not know (Redis drops an empty list) holds nothing. Raises the broker's
    error when it cannot be asked; callers treat that as "unknown" and recover nothing.
    """
    depths: dict[str, int] = {}

    def ask(conn) -> None:
        channel = conn.default_channel
        for name in names:
            try:
                depths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
            except ChannelError:
                depths[name] = 0

    if connection is not None:
        ask(connection)
    else:
        with broker_connection() as conn:
            ask(conn)
    return depths


# Of the rows sent and not yet claimed, the `depth` newest may still wait in their queue (first in,
# first out). Messages a worker has already reserved are not in that count: the next RESERVED_SLACK
# rows get the benefit of the doubt for up to SLACK_EXPIRES. Everything older was lost by the broker.
# A wrong guess only sends a duplicate, which the claim absorbs.
RESERVED_SLACK = 32
SLACK_EXPIRES = timedelta(seconds=15)


def lost_filter(sent, *, depth: int, now, slack: int = RESERVED_SLACK) -> Q | None:
    """Given `sent` (rows sent for one queue, not claimed, old enough to have been taken), the
    filter selecting those whose message the broker no longer has; None when there are none."""
    ordered = sent.order_by("-dispatched_at", "-pk").values_list("dispatched_at", "pk")
    beyond_queue = list(ordered[depth : depth + 1])
    if not beyond_queue:
        return None
    at, pk = beyond_queue[0]
    past_queue = Q(dispatched_at__lt=at) | Q(dispatched_at=at, pk__lte=pk)
    lost = past_queue & Q(dispatched_at__lt=now - SLACK_EXPIRES)
    beyond_slack = list(ordered[depth + slack : depth + slack + 1])
    if beyond_slack:
        at, pk = beyond_slack[0]
        lost |= Q(dispatched_at__lt=at) | Q(dispatched_at=at, pk__lte=pk)
    return lost


def _cached_connection():
    url = current_app.conf.broker_url
    cached = getattr(_local, "connection", None)
    if cached is not None and cached[0] == url:
        return cached[1]
    _drop_cached_connection()
    connection = _write_connection()
    _local.connection = (url, connection)
    return connection


def _drop_cached_connection() -> None:
    cached = getattr(_local, "connection", None)
    _local.connection = None
    if cached is not None:
        try:
            cached[1].release()
        except Exception:  # noqa: S110 - a broken connection may fail to close; it is dropped anyway
            pass


def publish(
    task, *, args: list, queue: str | None = None, connection=None, retry: bool = True, **options
) -> None:
    """Send `task` with positional `args` (ids). Raises the broker's error if it cannot be reached.

    `retry=False` (the relay) gives up at the first error: the relay has the rows and tries again
    on its next pass, so waiting here would only delay everything else it has to send.
    """
    if queue is not None:
        options["queue"] = queue
    policy = {"retry": retry, "retry_policy": PUBLISH_RETRY} if retry else {"retry": False}
    if connection is not None:
        task.apply_async(args=args, connection=connection, **policy, **options)
        return
    try:
        task.apply_async(args=args, connection=_cached_connection(), **policy, **options)
    except Exception:
        _drop_cached_connection()
        raise
