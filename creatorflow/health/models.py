"""Recorded health checks: a beat job stores one row every 30 s; the dashboard reads the latest."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    UNHEALTHY = "unhealthy", "Unhealthy"


class HealthCheckRecord(models.Model):
    """One run of every check. `checks` holds the same dict as `/api/health/`'s "checks"."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=10, choices=HealthStatus.choices)
    checks = models.JSONField(default=dict)
    duration_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"{self.status} at {self.created_at:%Y-%m-%d %H:%M:%S}"
