"""A sliding-window rate limiter shared by every process and machine.

Why: TikTok allows 50 requests per second per API path per (app, shop) and answers 429 beyond that;
a limit kept in one process's memory is multiplied by the number of workers, and a token bucket
(rate R, burst B) lets B + R requests through in one second (60 with TikTok's 50/s and a burst of
10). The platform counts requests per second, so this limiter does too: it keeps the times of the
grants of the last `window` seconds per key, and grants only while fewer than `limit` of them are
younger than `window`. Any interval of `window` seconds then holds at most `limit` grants,
whatever the number of callers.

The window lives in shared storage and every take is one atomic step there:

- **Redis** (`settings.REDIS_URL` set, production): one Lua script on a sorted set of grant times,
  on the Redis server's clock (so workers' clocks do not matter): drop the grants older than the
  window, grant if there is room, else answer the wait until the oldest that must go has gone.
  Scripts run atomically, so no two workers can take the same place. Needs Redis >= 5.
- **Database** (no Redis: the embedded default): the same arithmetic on a `RateWindowState` row,
  read with `select_for_update()` inside a short transaction (on SQLite the transaction's write lock
  serialises it). Times come from the calling process's wall clock, shared by every process on one
  machine.

The backend is chosen at call time from settings (so a limiter built at import time follows test
overrides), or passed explicitly. Call it outside database transactions: the database backend would
otherwise hold the row lock until the caller's transaction ends.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.db import transaction

from creatorflow.core.errors import DomainError

from .models import RateWindowState


class RateLimited(DomainError):
    """The limiter could not grant within the caller's timeout."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, key: str, retry_after: float):
        self.key = key
        self.retry_after = retry_after
        super().__init__(f"rate limit for {key} exhausted; retry in {retry_after:.2f} s")


def window_take(
    stamps: list[float], now: float, *, limit: int, window: float, n: int
) -> tuple[list[float], float]:
    """The window arithmetic (the Lua script is the same function; keep them in step).

    Returns (grant times kept, seconds to wait; 0 when `n` were granted at `now`). Grants at or
    before `now - window` are forgotten, so the half-open interval (now - window, now] never holds
    more than `limit`; a refusal adds nothing and waits until enough of the oldest have left.
    """
    kept = sorted(t for t in stamps if t > now - window)
    if len(kept) + n <= limit:
        return kept + [now] * n, 0.0
    return kept, max(kept[len(kept) + n - limit - 1] + window - now, 1e-6)


class WindowBackend(Protocol):
    def take(self, key: str, *, limit: int, window: float, n: int, now: float) -> tuple[float, float]:
        """(seconds to wait, 0 when granted; the backend's clock time of the answer)."""


# KEYS[1] = sorted set of grant times; ARGV = limit, window (s), n, a unique member prefix.
# Answers {wait, now} as strings: wait "0" when granted.
_WINDOW_SCRIPT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local stamp = string.format('%.6f', now)
if count + n <= limit then
  for i = 1, n do
    redis.call('ZADD', KEYS[1], stamp, ARGV[4] .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  return {'0', stamp}
end
local oldest = redis.call('ZRANGE', KEYS[1], count + n - limit - 1, count + n - limit - 1, 'WITHSCORES')
local wait = math.max(tonumber(oldest[2]) + window - now, 0.000001)
return {string.format('%.6f', wait), stamp}
"""


class RedisWindowBackend:
    """Windows as Redis sorted sets `cf:rw:<key>`, changed only by `_WINDOW_SCRIPT` (Redis' clock).
    Short socket timeouts: a Redis that does not answer is an error at once, not a hung worker."""

    prefix = "cf:rw:"

    def __init__(self, url: str, *, timeout: float = 2.0):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._script = self.client.register_script(_WINDOW_SCRIPT)

    def take(self, key: str, *, limit: int, window: float, n: int, now: float) -> tuple[float, float]:
        wait, stamp = self._script(keys=[self.prefix + key], args=[limit, repr(window), n, uuid.uuid4().hex])
        return float(wait), float(stamp)


class DatabaseWindowBackend:
    """Windows as `RateWindowState` rows locked for the read-modify-write (SQLite: its write lock)."""

    def __init__(self, using: str = "default"):
        self.using = using

    def take(self, key: str, *, limit: int, window: float, n: int, now: float) -> tuple[float, float]:
        rows = RateWindowState.objects.using(self.using)
        with transaction.atomic(using=self.using):
            row = rows.select_for_update().filter(key=key).first()
            if row is None:
                rows.bulk_create([RateWindowState(key=key, stamps=[], updated_at=now)], ignore_conflicts=True)
                row = rows.select_for_update().get(key=key)
            stamps, wait = window_take(list(row.stamps or []), now, limit=limit, window=window, n=n)
            row.stamps = stamps
            row.updated_at = now
            row.save(update_fields=["stamps", "updated_at"])
        return wait, now


_redis_backends: dict[tuple[str, float], RedisWindowBackend] = {}
_redis_lock = threading.Lock()


def default_backend(*, timeout: float = 2.0) -> WindowBackend:
    """Redis when `REDIS_URL` is set (one client per URL and timeout per process), else the
    database. Callers inside a web request pass a short `timeout`: a request never waits on Redis."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return DatabaseWindowBackend()
    with _redis_lock:
        backend = _redis_backends.get((url, timeout))
        if backend is None:
            backend = _redis_backends[(url, timeout)] = RedisWindowBackend(url, timeout=timeout)
    return backend


def purge_idle_windows(*, idle_seconds: float = 86400.0, clock: Callable[[], float] = time.time) -> int:
    """Delete database windows unused for `idle_seconds` (Redis keys expire by themselves)."""
    deleted, _ = RateWindowState.objects.filter(updated_at__lt=clock() - idle_seconds).delete()
    return deleted


class WindowLimiter:
    """At most `limit` grants in any `window` seconds for `key`, shared by every process.

    `last_grant_at` is the limiter's clock time (Redis' or this process's) of this instance's last
    grant: what the window counted, for whoever needs to prove the limit held.
    """

    def __init__(
        self,
        key: str,
        limit: int,
        window: float = 1.0,
        *,
        backend: WindowBackend | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        if len(key) > 200:
            raise ValueError("limiter keys are at most 200 characters")
        self.key = key
        self.limit = int(limit)
        self.window = float(window)
        self.last_grant_at: float | None = None
        self._backend = backend
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"<WindowLimiter {self.key} {self.limit}/{self.window:g}s>"

    @property
    def backend(self) -> WindowBackend:
        return self._backend or default_backend()

    def try_acquire(self, n: int = 1) -> float:
        """0.0 when `n` grants were taken, else the seconds until they could be (nothing taken).
        Other callers may take the freed places first, so treat the wait as a lower bound."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n > self.limit:
            raise ValueError(f"n must be an integer in [1, {self.limit}]: a window never holds more")
        wait, stamp = self.backend.take(
            self.key, limit=self.limit, window=self.window, n=n, now=self._clock()
        )
        if wait <= 0.0:
            self.last_grant_at = stamp
        return wait

    def acquire(self, n: int = 1, timeout: float = 10.0) -> None:
        """Take `n` grants, sleeping as needed; `RateLimited` if that would exceed `timeout`.

        Never call it holding a database transaction or lock: it may sleep. Sleeps get a little
        jitter so that waiting workers do not all retry in the same instant.
        """
        deadline = time.monotonic() + timeout
        while True:
            wait = self.try_acquire(n)
            if wait <= 0.0:
                return
            remaining = deadline - time.monotonic()
            if wait > remaining:
                raise RateLimited(self.key, retry_after=wait)
            self._sleep(min(remaining, wait + random.uniform(0.0, min(wait, 0.02))))
