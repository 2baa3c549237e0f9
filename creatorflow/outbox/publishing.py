"""Sending a task message from outside a worker (after commit, or from a beat sweep).

Each send opens its connection from the Celery configuration as it is at that moment instead of
reusing the app's producer pool: dispatch volume is one message per committed unit of work, a
connect to Redis costs well under a millisecond, and a send never inherits a pooled connection left
broken by a broker restart. A sweep sends its whole batch over one connection (`broker_connection`).
The publish retries briefly and then raises; callers record the failure on their row and leave it
for beat, so a request never hangs on a dead broker.
"""

from __future__ import annotations

from contextlib import contextmanager

from celery import current_app

PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


@contextmanager
def broker_connection():
    with current_app.connection_for_write() as connection:
        yield connection


def publish(task, *, args: list, queue: str | None = None, connection=None, **options) -> None:
    """Send `task` with positional `args` (ids). Raises the broker's error if it cannot be reached."""
    if queue is not None:
        options["queue"] = queue
    if connection is not None:
        task.apply_async(args=args, connection=connection, retry=True, retry_policy=PUBLISH_RETRY, **options)
        return
    with broker_connection() as fresh:
        task.apply_async(args=args, connection=fresh, retry=True, retry_policy=PUBLISH_RETRY, **options)
