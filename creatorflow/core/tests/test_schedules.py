"""The periodic-task registry in code is synced idempotently into django-celery-beat."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from creatorflow.core.schedules import PREFIX, Periodic, collect, sync_periodic_tasks

pytestmark = pytest.mark.django_db


def test_every_declared_task_is_in_beat_after_migrate():
    # given: the test database was created by migrate, which syncs the registry
    declared = collect()

    # then
    names = set(PeriodicTask.objects.filter(enabled=True).values_list("name", flat=True))
    assert declared, "the registry should declare periodic tasks"
    assert {PREFIX + p.name for p in declared} <= names


def test_sync_is_idempotent():
    # when
    sync_periodic_tasks()
    second = sync_periodic_tasks()

    # then
    assert second["created"] == 0 and second["updated"] == 0 and second["disabled"] == 0
    assert second["unchanged"] == len(collect())


def test_interval_tasks_expire_at_one_and_a_half_intervals():
    # given
    item = Periodic(name="x", task="x.y", every=timedelta(seconds=30))

    # then
    assert item.expiry == 45


def test_sync_repairs_a_changed_row_and_disables_removed_tasks():
    # given: staff edited one of ours, and one of ours is no longer declared
    declared = collect()[0]
    row = PeriodicTask.objects.get(name=PREFIX + declared.name)
    row.task = "edited.by.hand"
    row.save()
    stale = PeriodicTask.objects.create(
        name=PREFIX + "gone", task="gone.task", interval=row.interval, crontab=row.crontab
    )
    foreign = PeriodicTask.objects.create(
        name="staff-made", task="staff.task", interval=row.interval, crontab=row.crontab
    )

    # when
    counts = sync_periodic_tasks()

    # then
    row.refresh_from_db()
    stale.refresh_from_db()
    foreign.refresh_from_db()
    assert row.task == declared.task
    assert counts["updated"] == 1 and counts["disabled"] == 1
    assert stale.enabled is False
    assert foreign.enabled is True


def test_a_periodic_needs_exactly_one_schedule():
    with pytest.raises(ValueError):
        Periodic(name="bad", task="t")
    with pytest.raises(ValueError):
        Periodic(name="bad", task="t", every=timedelta(seconds=1), crontab={"minute": "0"})


def test_command_prints_counts(capsys):
    call_command("sync_periodic_tasks")
    assert "unchanged" in capsys.readouterr().out
