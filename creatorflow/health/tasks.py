"""Celery tasks for health: thin wrappers that call one service."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(
    name="health.record_checks",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # Beat sends one every 30 s and the message expires after 45 s: a late run is superseded by
    # the next, so there is nothing to retry.
    soft_time_limit=20,
    time_limit=25,
)
def record_checks() -> None:
    """Record one run of the health checks (beat, every 30 s)."""
    services.health_record_checks()
