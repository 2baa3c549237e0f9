"""Retry policy: exponential backoff with full jitter, capped.

Countdowns never exceed `MAX_COUNTDOWN_SECONDS`, which stays below the broker's visibility timeout
(3600 s): a longer wait is a row with a due time that a beat job picks up, not a sleeping message.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MAX_COUNTDOWN_SECONDS = 900


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    jitter: bool = True

    def backoff(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1).

        The delay doubles each attempt from `base_seconds` up to `cap_seconds`; with jitter it is
        drawn uniformly from [delay/2, delay] so that many clients failing together spread out. A
        server's Retry-After wins when it asks for longer.
        """
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        delay = min(self.cap_seconds, self.base_seconds * (2 ** (attempt - 1)))
        if self.jitter:
            delay = random.uniform(delay / 2, delay)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, MAX_COUNTDOWN_SECONDS)

    def exhausted(self, attempt: int) -> bool:
        return attempt >= self.max_attempts


# Mail servers recover in minutes: six tries over roughly half an hour.
EMAIL_RETRY = RetryPolicy(max_attempts=6, base_seconds=30, cap_seconds=900)


def retry_task_or_raise(task, exc: BaseException, policy: RetryPolicy, *, retry_after: float | None = None):
    """From inside a bound Celery task: retry after the policy's backoff (at least `retry_after`, a
    server's hint), or re-raise `exc` when the attempts are used up. Always raises (Celery's Retry,
    or `exc`)."""
    attempt = task.request.retries + 1
    if policy.exhausted(attempt):
        raise exc
    raise task.retry(exc=exc, countdown=policy.backoff(attempt, retry_after=retry_after)) from exc
