"""Rate limits for the public API and for the forms people can abuse (sign-in, sign-up, password
reset, invitations).

Every limit is a sliding window in the shared store (`creatorflow.resilience.ratelimit`: Redis in
production, the database in the embedded default), so it holds across every web process: at most N
requests in any period, and a caller that was refused learns exactly how long to wait.

- **API** (`ApiThrottle`, DRF's default throttle class): a token, or a signed-in user without one,
  gets `user`; every client address gets `ip`; everyone together gets `global` (the rates in
  `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`). The narrowest window is asked first and a refusal stops
  there, so one noisy token does not use up its address's or everyone's allowance. A refusal is a 429
  with `Retry-After` in the JSON error shape (code `throttled`). Health endpoints and inbound webhooks
  are not throttled: monitors poll and platforms send bursts.
- **Forms** (`form_throttle`): per client address and per email address, with the rates in
  `FORM_THROTTLE_RATES` (`<form>` for the address, `<form>_email` for the email).

The store being down must not take sign-in or the API down with it: a window that cannot be read
lets the request through (and logs it), and Redis gets a short timeout here, so a request never
waits on it for long.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from creatorflow.core.net import client_ip
from creatorflow.resilience.ratelimit import WindowLimiter, default_backend

logger = logging.getLogger(__name__)

# How long a request may wait on the shared store before the limit is skipped for it.
STORE_TIMEOUT_S = 0.25

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$", re.IGNORECASE)


def parse_rate(rate: str | None) -> tuple[int, float] | None:
    """ "100/min" -> (100, 60.0); "5/10s" -> (5, 10.0); None or "" -> None (no limit).

    A malformed rate is a configuration error and raises ValueError rather than silently
    switching the limit off.
    """
    if rate is None or not str(rate).strip():
        return None
    match = _RATE.match(str(rate))
    if not match:
        raise ValueError(f"rate {rate!r} is not '<count>/<period>' (period: s, min, hour or day)")
    count, multiple, unit = int(match[1]), int(match[2] or 1), match[3].lower()
    if count < 1 or multiple < 1:
        raise ValueError(f"rate {rate!r} must allow at least one request per period")
    return count, float(multiple * _PERIODS[unit])


def take(key: str, rate: str | None) -> float:
    """Take one place in `key`'s window: 0.0 when granted, else the seconds until a place frees.

    Fails open: when the shared store cannot answer, the request goes through and it is logged.
    """
    parsed = parse_rate(rate)
    if parsed is None:
        return 0.0
    limit, window = parsed
    try:
        limiter = WindowLimiter(key, limit, window, backend=default_backend(timeout=STORE_TIMEOUT_S))
        return limiter.try_acquire()
    except Exception as exc:  # the store is down or slow: never refuse (or fail) because of it
        logger.warning("rate limit %s skipped: the shared store did not answer (%s)", key, exc)
        return 0.0


def retry_after_seconds(wait: float) -> int:
    """A wait as the whole seconds of a Retry-After header (at least 1)."""
    return max(1, math.ceil(wait))


def wait_in_words(wait: float) -> str:
    """ "a few seconds", "2 minutes", "1 hour": how long someone should wait, for a sentence."""
    seconds = retry_after_seconds(wait)
    if seconds < 60:
        return "a few seconds" if seconds <= 10 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours = math.ceil(minutes / 60)
    return "1 hour" if hours == 1 else f"{hours} hours"


def _subject_key(value: str) -> str:
    """An email as a fixed-length key (no personal data in the store, no over-long keys)."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def form_throttle(request, name: str, *subjects: str | None) -> float:
    """Count one use of form `name`: 0.0 when allowed, else the seconds to wait.

    The address window (`FORM_THROTTLE_RATES[name]`) is asked first, then one window per non-empty
    subject (an email address: `FORM_THROTTLE_RATES[name + "_email"]`).
    """
    if not getattr(settings, "FORM_THROTTLE_ENABLED", True):
        return 0.0
    rates = getattr(settings, "FORM_THROTTLE_RATES", {}) or {}
    ip = client_ip(request) or "unknown"
    wait = take(f"form:{name}:ip:{ip}", rates.get(name))
    if wait > 0:
        return wait
    for subject in subjects:
        if subject and str(subject).strip():
            wait = take(f"form:{name}:subject:{_subject_key(str(subject))}", rates.get(f"{name}_email"))
            if wait > 0:
                return wait
    return 0.0


class ApiThrottle(BaseThrottle):
    """DRF throttle: the caller's token (or user), then their address, then everyone."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def scopes(self, request) -> list[tuple[str, str]]:
        """(scope, window key) from narrowest to widest."""
        keys: list[tuple[str, str]] = []
        user = getattr(request, "user", None)
        token = getattr(request, "auth", None)
        token_id = getattr(token, "pk", None)
        if token_id is not None:
            keys.append(("user", f"api:user:token:{token_id}"))
        elif user is not None and user.is_authenticated:
            keys.append(("user", f"api:user:{user.pk}"))
        keys.append(("ip", f"api:ip:{client_ip(request) or 'unknown'}"))
        keys.append(("global", "api:global"))
        return keys

    def allow_request(self, request, view) -> bool:
        if not getattr(settings, "API_THROTTLE_ENABLED", True):
            return True
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        for scope, key in self.scopes(request):
            wait = take(key, rates.get(scope))
            if wait > 0:
                self._wait = wait
                return False
        return True

    def wait(self) -> float | None:
        return None if self._wait is None else float(retry_after_seconds(self._wait))
