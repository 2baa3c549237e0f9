"""Fault injection and the per-path rate limit of the sandbox.

Both are consulted by every Open API request before it touches shop state, so a fault test sees
exactly what a misbehaving TikTok would show our client: a slow answer, a 5xx, a 429 with
Retry-After, or a random internal error.
"""

from __future__ import annotations

import collections
import math
import random
import threading
import time
from dataclasses import dataclass, field

FAULT_FIELDS = ("latency_ms", "fail_5xx", "fail_429", "error_rate", "drop_webhooks")


@dataclass
class SandboxFaults:
    """What to break. Plain attributes so a test can write `sb.faults.fail_5xx = 3`; the counters
    are consumed under a small lock so concurrent requests never take the same failure twice."""

    latency_ms: int = 0
    fail_5xx: int = 0
    fail_429: int = 0
    error_rate: float = 0.0
    drop_webhooks: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def take(self) -> str | None:
        """The failure this request must show: "5xx", "429", "error" or None."""
        with self._lock:
            if self.fail_5xx > 0:
                self.fail_5xx -= 1
                return "5xx"
            if self.fail_429 > 0:
                self.fail_429 -= 1
                return "429"
            if self.error_rate > 0 and self._rng.random() < self.error_rate:
                return "error"
        return None

    def update(self, values: dict) -> None:
        """Set fields from a JSON body, checking types (ValueError names the bad field)."""
        for name, value in values.items():
            if name not in FAULT_FIELDS:
                raise ValueError(f"unknown fault {name!r}")
            if name == "drop_webhooks":
                if not isinstance(value, bool):
                    raise ValueError("drop_webhooks must be true or false")
            elif name == "error_rate":
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise ValueError("error_rate must be a number from 0 to 1")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        with self._lock:
            for name, value in values.items():
                setattr(self, name, value)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in FAULT_FIELDS}

    def reset(self) -> None:
        self.update(
            {"latency_ms": 0, "fail_5xx": 0, "fail_429": 0, "error_rate": 0.0, "drop_webhooks": False}
        )


class RateLimiter:
    """TikTok's per-path limit, keyed by (app, shop, path template): at most `rate_per_s` requests in
    any one second (a sliding window, as TikTok counts them: no burst above the rate)."""

    def __init__(self, rate_per_s: float):
        self.rate = float(rate_per_s)
        self._windows: dict[tuple, collections.deque] = {}
        self._lock = threading.Lock()

    def acquire(self, key: tuple) -> float:
        """Count one request. Returns 0 when allowed, else the seconds until one is."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault(key, collections.deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) < self.rate:
                window.append(now)
                return 0.0
            return window[0] + 1.0 - now


def retry_after_header(wait_s: float) -> str:
    """Retry-After is whole seconds and never 0 (a 0 would invite an immediate hammering retry)."""
    return str(max(1, math.ceil(wait_s)))
