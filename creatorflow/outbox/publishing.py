"""Sending a task message from outside a worker (after commit, or from a beat sweep).

Each thread keeps one broker connection for the broker URL currently configured and reuses it:
opening a kombu connection to Redis (connect, ping, declare the queue) costs 20–30 ms, which would be
most of a webhook request's time. If the configured URL changes (tests point the app at a dead
broker and back) the thread opens a connection to the new one. A send that fails drops the cached
connection, so the next send starts from a fresh one instead of inheriting a broken socket after a
broker restart. A sweep sends its whole batch over one connection (`broker_connection`).
The publish retries briefly and then raises; callers record the failure on their row and leave it
for beat, so a request never hangs on a dead broker.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from celery import current_app

PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

_local = threading.local()


@contextmanager
def broker_connection():
    with current_app.connection_for_write() as connection:
        yield connection


def _cached_connection():
    url = current_app.conf.broker_url
    cached = getattr(_local, "connection", None)
    if cached is not None and cached[0] == url:
        return cached[1]
    _drop_cached_connection()
    connection = current_app.connection_for_write()
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


def publish(task, *, args: list, queue: str | None = None, connection=None, **options) -> None:
    """Send `task` with positional `args` (ids). Raises the broker's error if it cannot be reached."""
    if queue is not None:
        options["queue"] = queue
    if connection is not None:
        task.apply_async(args=args, connection=connection, retry=True, retry_policy=PUBLISH_RETRY, **options)
        return
    try:
        task.apply_async(
            args=args, connection=_cached_connection(), retry=True, retry_policy=PUBLISH_RETRY, **options
        )
    except Exception:
        _drop_cached_connection()
        raise
