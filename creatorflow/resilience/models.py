"""The rate limiter's database fallback: one row per token bucket.

Used only when there is no Redis (the embedded default, or a deployment without REDIS_URL): every
process updates its bucket's row under `select_for_update()` (PostgreSQL) or SQLite's write lock in a
short transaction, so the budget holds across web and worker processes. With Redis the same bucket
lives in a Redis hash and this table stays empty.
"""

from __future__ import annotations

from django.db import models


class TokenBucketState(models.Model):
    key = models.CharField(max_length=200, primary_key=True)
    tokens = models.FloatField(help_text="Tokens left at `updated_at`, before refill.")
    updated_at = models.FloatField(help_text="Unix time of the last refill.")

    class Meta:
        verbose_name = "rate-limit bucket"

    def __str__(self) -> str:
        return f"{self.key}: {self.tokens:.2f} tokens"
