"""Writes for health: record a run of the checks and prune old records."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .checks import run_checks
from .models import HealthCheckRecord

DEFAULT_RETENTION = timedelta(days=1)


def health_record_checks() -> HealthCheckRecord:
    """Run every check now and store the result; then delete records past the retention period.

    The checks run outside any transaction (they make network calls to Redis and the broker);
    only the insert and the prune touch the database, each in its own short statement. Running it
    twice simply records two rows, so the task needs no idempotency key.
    """
    start = time.perf_counter()
    result = run_checks()
    duration_ms = round((time.perf_counter() - start) * 1000, 2)
    with transaction.atomic():
        record = HealthCheckRecord.objects.create(
            status=result["status"], checks=result["checks"], duration_ms=duration_ms
        )
    health_prune_records()
    return record


def health_prune_records(*, older_than: timedelta | None = None) -> int:
    """Delete records older than `older_than` (default HEALTH_RECORD_RETENTION, one day)."""
    keep = older_than or getattr(settings, "HEALTH_RECORD_RETENTION", DEFAULT_RETENTION)
    deleted, _ = HealthCheckRecord.objects.filter(created_at__lt=timezone.now() - keep).delete()
    return deleted
