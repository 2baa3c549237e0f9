"""Code that runs in child processes (spawned, so each child is a fresh interpreter).

Each function sets Django up itself; `db_name` points the child at the parent's test database.
"""

from __future__ import annotations

import os
import time


def setup_django(db_name: str | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creatorflow.settings_test")
    import django

    django.setup()
    if db_name:
        from django.db import connections

        connections["default"].settings_dict["NAME"] = db_name


def record_failures(name: str, count: int, result_queue) -> None:
    """Record `count` failures on the named breaker and report the snapshot this process sees."""
    setup_django()
    from creatorflow.resilience.circuit import get_breaker

    breaker = get_breaker(name)
    for _ in range(count):
        breaker.record_failure()
    result_queue.put(breaker.snapshot())


def probe_breaker(name: str, result_queue) -> None:
    """Report the state this process sees and whether it would be allowed to call."""
    setup_django()
    from creatorflow.resilience.circuit import get_breaker

    breaker = get_breaker(name)
    result_queue.put({"state": breaker.state(), "allow": breaker.allow()})


def hammer_window(
    key: str,
    limit: int,
    backend: str,
    db_name: str | None,
    start,
    seconds: float,
    result_queue,
) -> None:
    """Take places in a 1-second window as fast as possible for `seconds` after `start` is set;
    report when the calls ran and the limiter's own time of each grant."""
    setup_django(db_name)
    from django.db import connections

    from creatorflow.resilience.ratelimit import DatabaseWindowBackend, RedisWindowBackend, WindowLimiter

    if backend == "redis":
        from django.conf import settings

        chosen = RedisWindowBackend(settings.REDIS_URL)
    else:
        chosen = DatabaseWindowBackend()
    limiter = WindowLimiter(key, limit, 1.0, backend=chosen)
    start.wait(60)
    first_call = time.time()
    grants = []
    while time.time() - first_call < seconds:
        if limiter.try_acquire() == 0.0:
            grants.append(limiter.last_grant_at)
    last_call = time.time()
    connections.close_all()
    result_queue.put({"first_call": first_call, "last_call": last_call, "grants": grants})
