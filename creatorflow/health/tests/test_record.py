"""The beat job that records health every 30 s, its schedule, and pruning."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from creatorflow.core.schedules import collect, sync_periodic_tasks
from creatorflow.health.facade import latest_health
from creatorflow.health.models import HealthCheckRecord
from creatorflow.health.tasks import record_checks

from .factories import HealthCheckRecordFactory

pytestmark = pytest.mark.django_db


def test_the_beat_task_writes_a_record_of_every_check():
    # when beat's task runs (in-process, as a worker would run it)
    record_checks.apply().get()

    # then one record holds the overall status and every check
    record = HealthCheckRecord.objects.get()
    assert record.status in {"healthy", "degraded"}
    assert set(record.checks) == {"database", "redis", "celery", "tiktok", "carriers", "webhooks", "relay"}
    assert record.checks["database"]["status"] == "healthy"
    assert record.duration_ms >= 0


def test_recording_prunes_records_older_than_a_day():
    # given a record from two days ago and one from an hour ago
    old = HealthCheckRecordFactory(created_at=timezone.now() - timedelta(days=2))
    recent = HealthCheckRecordFactory(created_at=timezone.now() - timedelta(hours=1))

    # when the task runs
    record_checks.apply().get()

    # then the old one is gone, the recent one and the new one stay
    remaining = set(HealthCheckRecord.objects.values_list("pk", flat=True))
    assert old.pk not in remaining and recent.pk in remaining and len(remaining) == 2


def test_the_record_task_is_scheduled_every_30_seconds_on_the_default_queue():
    # given the registry declares it
    declared = {p.name: p for p in collect()}["health.record"]
    assert (declared.task, declared.every, declared.queue) == (
        "health.record_checks",
        timedelta(seconds=30),
        "default",
    )

    # when the registry is synced into beat
    sync_periodic_tasks()

    # then beat runs it every 30 s and drops a run that waited longer than 45 s
    row = PeriodicTask.objects.get(name="cf:health.record")
    assert (row.task, row.queue, row.interval.every, row.interval.period) == (
        "health.record_checks",
        "default",
        30,
        "seconds",
    )
    assert row.expire_seconds == 45 and row.enabled


def test_the_dashboard_summary_reads_the_latest_record():
    # given an older healthy and a newer degraded record
    HealthCheckRecordFactory(created_at=timezone.now() - timedelta(minutes=1))
    latest = HealthCheckRecordFactory(status="degraded")
    latest.checks["tiktok"] = {"status": "degraded", "circuit": "open"}
    latest.save()

    # when
    summary = latest_health()

    # then
    assert summary.status == "degraded"
    tiktok = {c.name: c for c in summary.checks}["tiktok"]
    assert (tiktok.status, tiktok.detail) == ("degraded", "circuit open")


def test_no_record_yet_gives_no_summary():
    assert latest_health() is None
