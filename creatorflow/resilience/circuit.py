"""Circuit breakers for outbound platforms, shared by every web and worker process.

Why: when TikTok or a carrier is down, hammering it wastes worker time, piles up retries and can get
the app throttled. After `failure_threshold` consecutive failures a breaker *opens*: callers fail
fast with `CircuitOpenError` (a carrier caller falls over to the next carrier) without touching the
network. After `reset_timeout` seconds it is *half-open*: exactly one caller, in any process, is let
through as a trial; its success *closes* the breaker, its failure re-opens it for another timeout.

State lives in Django's cache, never in process memory, so every process sees the same breaker:
Redis in production, the database cache in the embedded default. Keys, per breaker name:

- ``failures``: consecutive failures while closed (Redis INCR is atomic; for the database cache the
  read-modify-write runs under `locking.serialized`, see `_atomic`).
- ``opened_at``: Unix time the breaker (re-)opened; its presence means open or half-open.
- ``trial``: taken with ``cache.add`` (SET NX) by the single half-open trial caller; it expires after
  `trial_timeout` so a trial whose process died does not keep the breaker shut for good.

Times are wall-clock Unix seconds because they are compared across processes (and machines, which
are assumed NTP-synchronised); `clock` can be injected, e.g. by tests.

Usage::

    breaker = get_breaker("tiktok")
    with breaker:                      # raises CircuitOpenError without running the block
        response = session.get(...)    # any exception counts as a failure
    breaker.call(fn, *args, **kwargs)  # same, for a callable
    with breaker.guard(ignore=(BadRequest,)):  # exceptions that are not the platform's fault
        ...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import router

from creatorflow.core.errors import ServiceUnavailable

from .locking import serialized

logger = logging.getLogger(__name__)

T = TypeVar("T")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

KEY_PREFIX = "cb:v1:"
KNOWN_KEY = KEY_PREFIX + "__known__"
# Breaker keys outlive any sensible outage; an idle breaker's keys expiring just means "closed".
STATE_TTL = 24 * 3600


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int
    reset_timeout: float


DEFAULT_CONFIG = BreakerConfig(failure_threshold=5, reset_timeout=60.0)
_EXACT = {"tiktok": BreakerConfig(failure_threshold=5, reset_timeout=60.0)}
_PREFIXES = (("carrier:", BreakerConfig(failure_threshold=3, reset_timeout=30.0)),)


def config_for(name: str) -> BreakerConfig:
    """The policy for a breaker name: DESIGN.md fixes TikTok at 5/60 s and carriers at 3/30 s."""
    if name in _EXACT:
        return _EXACT[name]
    for prefix, config in _PREFIXES:
        if name.startswith(prefix):
            return config
    return DEFAULT_CONFIG


class CircuitOpenError(ServiceUnavailable):
    """Raised instead of calling a platform whose breaker is open; nothing was sent."""

    code = "circuit_open"

    def __init__(self, name: str, retry_after: float):
        self.name = name
        self.retry_after = max(0.0, retry_after)
        super().__init__(f"{name} is unavailable (circuit open); retry in {self.retry_after:.0f} s")


class CircuitBreaker:
    """One named breaker. Instances hold configuration only, so any number may exist for a name.

    Thread- and process-safe: every method reads and writes the shared cache state; see the module
    docstring for the keys and the races each operation tolerates.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = DEFAULT_CONFIG.failure_threshold,
        reset_timeout: float = DEFAULT_CONFIG.reset_timeout,
        trial_timeout: float | None = None,
        clock: Callable[[], float] = time.time,
        cache_alias: str = "default",
    ):
        if failure_threshold < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout > 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = float(reset_timeout)
        # How long the half-open trial may take before another caller may try instead.
        self.trial_timeout = float(trial_timeout if trial_timeout is not None else reset_timeout)
        self._clock = clock
        self._cache_alias = cache_alias
        self._k_failures = f"{KEY_PREFIX}{name}:failures"
        self._k_opened = f"{KEY_PREFIX}{name}:opened_at"
        self._k_trial = f"{KEY_PREFIX}{name}:trial"

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name} {self.failure_threshold}/{self.reset_timeout:g}s>"

    # --- state ------------------------------------------------------------------------------

    @property
    def _cache(self):
        return caches[self._cache_alias]

    def _atomic(self):
        """Make a read-modify-write of this breaker's keys exclusive across processes.

        Needed only for the database cache, whose `incr` is a get followed by a set and whose `add`
        over an *expired* row is not atomic. Redis operations used here are atomic on their own.
        """
        cache = self._cache
        if isinstance(cache, DatabaseCache):
            return serialized(f"circuit:{self.name}", using=router.db_for_write(cache.cache_model_class))
        return _NullContext()

    def _opened_at(self, *, register: bool = False) -> float | None:
        """Read `opened_at`; with `register`, also make sure the name is in the known list.

        Both keys come back in one round trip (`get_many`), so being listed costs nothing extra
        except the first time, and a flushed or evicted list heals itself on the next call.
        """
        if not register:
            value = self._cache.get(self._k_opened)
        else:
            values = self._cache.get_many([self._k_opened, KNOWN_KEY])
            if self.name not in (values.get(KNOWN_KEY) or ()):
                _add_known(self._cache, self.name)
            value = values.get(self._k_opened)
        return float(value) if value is not None else None

    def _state_at(self, opened_at: float | None, now: float) -> str:
        if opened_at is None:
            return CLOSED
        return OPEN if now < opened_at + self.reset_timeout else HALF_OPEN

    def state(self) -> str:
        """ "closed", "open" or "half_open" as every process currently sees it."""
        return self._state_at(self._opened_at(), self._clock())

    def failures(self) -> int:
        return int(self._cache.get(self._k_failures) or 0)

    def retry_in(self) -> float:
        """Seconds until the breaker half-opens; 0 when closed or already half-open."""
        opened_at = self._opened_at()
        if opened_at is None:
            return 0.0
        return max(0.0, opened_at + self.reset_timeout - self._clock())

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready view for the health panel; times are ISO-8601 UTC strings or None."""
        opened_at = self._opened_at()
        now = self._clock()
        retry_at = opened_at + self.reset_timeout if opened_at is not None else None
        return {
            "name": self.name,
            "state": self._state_at(opened_at, now),
            "failures": self.failures(),
            "failure_threshold": self.failure_threshold,
            "reset_timeout": self.reset_timeout,
            "opened_at": _iso(opened_at),
            "retry_at": _iso(retry_at),
            "retry_in": max(0.0, retry_at - now) if retry_at is not None else None,
        }

    # --- decisions and outcomes -----------------------------------------------------------------

    def allow(self) -> bool:
        """May a call go out now? Closed: yes. Open: no. Half-open: yes for exactly one caller.

        A caller that gets True must report the outcome with `record_success` / `record_failure`
        (the context manager and `call` do it); otherwise the next trial waits `trial_timeout`.
        """
        opened_at = self._opened_at(register=True)
        now = self._clock()
        state = self._state_at(opened_at, now)
        if state == CLOSED:
            return True
        if state == OPEN:
            return False
        # Half-open: SET NX elects one trial caller across all processes.
        with self._atomic():
            return bool(self._cache.add(self._k_trial, now, timeout=self.trial_timeout))

    def record_success(self) -> None:
        """Closed: reset the consecutive-failure count. Half-open: the trial worked, close.

        While open (not yet timed out) a success is a straggler that started before the breaker
        opened; it is ignored so that one lucky call does not cut the cool-down short.
        """
        opened_at = self._opened_at(register=True)
        state = self._state_at(opened_at, self._clock())
        if state == CLOSED:
            if self._cache.get(self._k_failures):
                self._cache.delete(self._k_failures)
        elif state == HALF_OPEN:
            self._cache.delete_many([self._k_opened, self._k_failures, self._k_trial])
            logger.info("circuit %s closed: trial call succeeded", self.name)

    def record_failure(self) -> None:
        """Count a failure; open at the threshold. Half-open: re-open for another `reset_timeout`.

        Races: concurrent failures are counted atomically, and the transition to open uses
        ``cache.add`` so that only the first process to cross the threshold sets `opened_at` (the
        others would otherwise push the retry time back). A failure while open is a straggler and
        changes nothing.
        """
        now = self._clock()
        with self._atomic():
            opened_at = self._opened_at(register=True)
            state = self._state_at(opened_at, now)
            if state == OPEN:
                return
            if state == HALF_OPEN:
                self._cache.set(self._k_opened, now, timeout=STATE_TTL)
                self._cache.delete(self._k_trial)
                logger.warning("circuit %s re-opened: trial call failed", self.name)
                return
            failures = self._incr_failures()
            if failures >= self.failure_threshold and self._cache.add(self._k_opened, now, timeout=STATE_TTL):
                logger.warning("circuit %s opened after %d consecutive failures", self.name, failures)

    def _incr_failures(self) -> int:
        cache = self._cache
        if isinstance(cache, DatabaseCache):
            # Inside _atomic(): a plain read-modify-write is exclusive here, and it keeps our TTL
            # (the database cache's own incr() would reset it to the cache default).
            failures = int(cache.get(self._k_failures) or 0) + 1
            cache.set(self._k_failures, failures, timeout=STATE_TTL)
            return failures
        for _ in range(5):
            cache.add(self._k_failures, 0, timeout=STATE_TTL)
            try:
                return int(cache.incr(self._k_failures))
            except ValueError:  # deleted by a concurrent success between add and incr: start again
                continue
        return 1

    # --- guarded calls ------------------------------------------------------------------------

    def guard(self, *, ignore: tuple[type[BaseException], ...] = ()) -> _Guard:
        """A context manager: fail fast while open, then record the block's outcome.

        Exceptions in `ignore` (e.g. a 400 caused by our own request) propagate without counting
        as a failure; they do count as a success, since the platform answered.
        """
        return _Guard(self, ignore)

    def __enter__(self) -> CircuitBreaker:
        return _Guard(self, ()).__enter__()

    def __exit__(self, exc_type, exc, tb) -> bool:
        return _Guard(self, ()).__exit__(exc_type, exc, tb)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `fn(*args, **kwargs)` through the breaker; raises CircuitOpenError without calling."""
        with self.guard():
            return fn(*args, **kwargs)

    def reject(self) -> CircuitOpenError:
        """The error to raise when `allow()` said no."""
        retry_after = self.retry_in()
        if retry_after == 0.0:  # half-open with another process's trial in flight
            retry_after = 1.0
        return CircuitOpenError(self.name, retry_after)

    # --- registry for the health panel ------------------------------------------------------------

    @staticmethod
    def known_breakers(cache_alias: str = "default") -> list[str]:
        """Same as the module-level `known_breakers()`, for callers holding a breaker."""
        return known_breakers(cache_alias)


class _Guard:
    def __init__(self, breaker: CircuitBreaker, ignore: tuple[type[BaseException], ...]):
        self.breaker = breaker
        self.ignore = ignore

    def __enter__(self) -> CircuitBreaker:
        if not self.breaker.allow():
            raise self.breaker.reject()
        return self.breaker

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None or (self.ignore and issubclass(exc_type, self.ignore)):
            self.breaker.record_success()
        elif issubclass(exc_type, Exception):
            self.breaker.record_failure()
        return False


class _NullContext:
    def __enter__(self):
        return None

    def __exit__(self, *exc) -> bool:
        return False


_breakers: dict[str, CircuitBreaker] = {}


def _add_known(cache, name: str) -> bool:
    """Append `name` to the known list under a short SET NX lock (lists have no atomic append).

    Best effort: if the lock stays taken (a process died holding it; it expires in 5 s) the name is
    added on a later call instead.
    """
    lock_key = KNOWN_KEY + ":lock"
    for _ in range(20):
        if cache.add(lock_key, 1, timeout=5):
            try:
                names = list(cache.get(KNOWN_KEY) or [])
                if name not in names:
                    names.append(name)
                    cache.set(KNOWN_KEY, names, timeout=None)
                return True
            finally:
                cache.delete(lock_key)
        time.sleep(0.01)
    return False


def get_breaker(name: str) -> CircuitBreaker:
    """The breaker for `name` with its configured policy (see `config_for`)."""
    breaker = _breakers.get(name)
    if breaker is None:
        config = config_for(name)
        breaker = CircuitBreaker(
            name, failure_threshold=config.failure_threshold, reset_timeout=config.reset_timeout
        )
        _breakers[name] = breaker
    return breaker


def known_breakers(cache_alias: str = "default") -> list[str]:
    """Names of every breaker any process has used (for the health panel), sorted."""
    return sorted(caches[cache_alias].get(KNOWN_KEY) or [])


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()
