"""A token-bucket rate limiter shared by every process and machine.

Why: TikTok allows 50 requests/s per API path per (app, shop) and answers 429 beyond that; a limit
kept in one process's memory is multiplied by the number of workers. The bucket therefore lives in
shared storage and every take is one atomic step there:

- **Redis** (`settings.REDIS_URL` set, production): one Lua script refills the bucket by the time
  elapsed on the Redis server's clock (so workers' clocks do not matter), takes `n` tokens if there
  are enough, and returns the wait otherwise. Scripts run atomically, so no two workers can take the
  same token. Needs Redis >= 5 (TIME inside a writing script).
- **Database** (no Redis: the embedded default): the same arithmetic on a `TokenBucketState` row,
  read with `select_for_update()` inside a short transaction (on SQLite the transaction's
  `BEGIN IMMEDIATE` write lock serialises it). Times come from the calling process's wall clock,
  which is shared by all processes on one machine; an elapsed time below zero counts as zero.

The backend is chosen at call time from settings (so a bucket built at import time follows test
overrides), or passed explicitly.

A bucket with rate R tokens/s and capacity B grants at most B + R·T tokens in any window of T seconds,
whatever the number of callers. Call it outside database transactions: the database backend would
otherwise hold the row lock until the caller's transaction ends.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.db import transaction

from creatorflow.core.errors import DomainError

from .models import TokenBucketState


class RateLimited(DomainError):
    """The bucket could not grant the tokens within the caller's timeout."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, key: str, retry_after: float):
        self.key = key
        self.retry_after = retry_after
        super().__init__(f"rate limit for {key} exhausted; retry in {retry_after:.2f} s")


def refill_and_take(
    tokens: float, updated_at: float, now: float, *, rate: float, burst: float, n: float
) -> tuple[float, float]:
    """The bucket arithmetic: returns (tokens left, seconds to wait; 0 when `n` were taken).

    Tokens accrue at `rate` per second since `updated_at`, never above `burst`. The Lua script in
    `RedisBucketBackend` is the same function; keep them in step.
    """
    tokens = min(burst, tokens + max(0.0, now - updated_at) * rate)
    if tokens >= n:
        return tokens - n, 0.0
    return tokens, (n - tokens) / rate


class BucketBackend(Protocol):
    def take(self, key: str, *, rate: float, burst: float, n: float, now: float) -> float:
        """Atomically refill and take `n`; return 0.0 if granted, else seconds to wait."""


# KEYS[1] = bucket hash; ARGV = rate, burst, n. Returns the wait as a string (Lua numbers returned
# to Redis are truncated to integers). %.6f keeps microseconds, which %g would round away.
_TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local wait = 0
if tokens >= n then
  tokens = tokens - n
else
  wait = (n - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
-- an idle bucket refills to full; once that has happened it may as well not exist
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""


class RedisBucketBackend:
    """Buckets as Redis hashes `cf:rl:<key>`, changed only by `_TAKE_SCRIPT`."""

    prefix = "cf:rl:"

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._script = self.client.register_script(_TAKE_SCRIPT)

    def take(self, key: str, *, rate: float, burst: float, n: float, now: float) -> float:
        # `now` is ignored on purpose: the script uses the Redis server's clock.
        return float(self._script(keys=[self.prefix + key], args=[repr(rate), repr(burst), repr(n)]))


class DatabaseBucketBackend:
    """Buckets as `TokenBucketState` rows; see the module docstring for the locking."""

    def __init__(self, using: str = "default"):
        self.using = using

    def take(self, key: str, *, rate: float, burst: float, n: float, now: float) -> float:
        rows = TokenBucketState.objects.using(self.using)
        with transaction.atomic(using=self.using):
            row = rows.select_for_update().filter(key=key).first()
            if row is None:
                # Two processes may create the same bucket at once: ON CONFLICT DO NOTHING (or
                # INSERT OR IGNORE) lets the loser carry on and lock the winner's row.
                rows.bulk_create(
                    [TokenBucketState(key=key, tokens=burst, updated_at=now)], ignore_conflicts=True
                )
                row = rows.select_for_update().get(key=key)
            tokens, wait = refill_and_take(row.tokens, row.updated_at, now, rate=rate, burst=burst, n=n)
            row.tokens = tokens
            row.updated_at = max(now, row.updated_at)
            row.save(update_fields=["tokens", "updated_at"])
        return wait


_redis_backends: dict[str, RedisBucketBackend] = {}
_redis_lock = threading.Lock()


def default_backend() -> BucketBackend:
    """Redis when `settings.REDIS_URL` is set, else the database. One Redis client per URL."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return DatabaseBucketBackend()
    with _redis_lock:
        backend = _redis_backends.get(url)
        if backend is None:
            backend = _redis_backends[url] = RedisBucketBackend(url)
    return backend


def purge_idle_buckets(*, idle_seconds: float = 86400.0, clock: Callable[[], float] = time.time) -> int:
    """Delete database buckets untouched for `idle_seconds` (an idle bucket is full: same as none).

    Safe to run at any time (e.g. from a daily beat job); returns the number of rows deleted.
    """
    deleted, _ = TokenBucketState.objects.filter(updated_at__lt=clock() - idle_seconds).delete()
    return deleted


class TokenBucket:
    """A named bucket of `burst` tokens refilled at `rate_per_s`; the state is shared (see module).

    The object itself holds only configuration, so creating one per call or per module is fine.
    `clock` is the wall clock used by the database backend and `sleep` what `acquire` waits with;
    both exist so tests can drive time.
    """

    def __init__(
        self,
        key: str,
        rate_per_s: float,
        burst: float,
        *,
        backend: BucketBackend | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        if len(key) > 200:
            raise ValueError("bucket keys are at most 200 characters")
        self.key = key
        self.rate = float(rate_per_s)
        self.burst = float(burst)
        self._backend = backend
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"<TokenBucket {self.key} {self.rate:g}/s burst {self.burst:g}>"

    @property
    def backend(self) -> BucketBackend:
        return self._backend or default_backend()

    def try_acquire(self, n: float = 1) -> float:
        """Take `n` tokens if available: returns 0.0 when granted, else the seconds to wait.

        A refusal takes nothing. The wait is what this caller alone would need; other callers may
        take the refilled tokens first, so treat it as a lower bound.
        """
        if n <= 0 or n > self.burst:
            raise ValueError(f"n must be in (0, {self.burst:g}]: a bucket never holds more than its burst")
        return self.backend.take(self.key, rate=self.rate, burst=self.burst, n=float(n), now=self._clock())

    def acquire(self, n: float = 1, timeout: float = 10.0) -> None:
        """Take `n` tokens, sleeping as needed; raises `RateLimited` if that would exceed `timeout`.

        Never call this holding a database transaction or lock: it may sleep. Sleeps get a little
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
            self._sleep(min(remaining, wait + random.uniform(0.0, min(wait, 0.05))))
