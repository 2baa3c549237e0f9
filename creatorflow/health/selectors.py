"""Reads of recorded health."""

from __future__ import annotations

from .models import HealthCheckRecord


def latest_record() -> HealthCheckRecord | None:
    return HealthCheckRecord.objects.order_by("-created_at", "-id").first()
