"""The registry of periodic tasks, kept in code and synced into django-celery-beat.

Each app may declare a module-level ``PERIODIC_TASKS`` list of `Periodic` in ``<app>/schedules.py``.
`sync_periodic_tasks()` makes the beat database match the registry: it creates or updates every
declared task and disables the ones it created earlier that are no longer declared. It is idempotent
and runs after every ``migrate`` and from ``manage.py sync_periodic_tasks``.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.db import transaction

# Names of the rows this registry owns start with this prefix; rows added by staff are left alone.
PREFIX = "cf:"


@dataclass(frozen=True)
class Periodic:
    """One periodic task: every `every`, or on a crontab given as a dict of crontab fields."""

    name: str
    task: str
    every: timedelta | None = None
    crontab: dict = field(default_factory=dict)
    queue: str = "default"
    kwargs: dict = field(default_factory=dict)
    expires_seconds: float | None = None

    def __post_init__(self):
        if (self.every is None) == (not self.crontab):
            raise ValueError(f"{self.name}: give exactly one of `every` or `crontab`.")

    @property
    def expiry(self) -> float:
        """An interval task that has waited 1.5 intervals is stale: the next run supersedes it."""
        if self.expires_seconds is not None:
            return self.expires_seconds
        if self.every is not None:
            return self.every.total_seconds() * 1.5
        return 3600.0


def collect() -> list[Periodic]:
    found: dict[str, Periodic] = {}
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.schedules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.schedules":
                raise
            continue
        for item in getattr(module, "PERIODIC_TASKS", []):
            if item.name in found:
                raise ValueError(f"Periodic task {item.name!r} is declared twice.")
            found[item.name] = item
    return sorted(found.values(), key=lambda p: p.name)


@transaction.atomic
def sync_periodic_tasks() -> dict[str, int]:
    """Make django-celery-beat's tables match the registry. Returns counts of what changed."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    declared = collect()
    counts = {"created": 0, "updated": 0, "disabled": 0, "unchanged": 0}
    for item in declared:
        defaults = {
            "task": item.task,
            "queue": item.queue,
            "kwargs": json.dumps(item.kwargs, sort_keys=True),
            "expire_seconds": int(item.expiry),
            "enabled": True,
            "interval": None,
            "crontab": None,
        }
        if item.every is not None:
            defaults["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=int(item.every.total_seconds()), period=IntervalSchedule.SECONDS
            )
        else:
            cron = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
            cron.update({k: str(v) for k, v in item.crontab.items()})
            defaults["crontab"], _ = CrontabSchedule.objects.get_or_create(timezone="UTC", **cron)

        row = PeriodicTask.objects.filter(name=PREFIX + item.name).first()
        if row is None:
            PeriodicTask.objects.create(name=PREFIX + item.name, **defaults)
            counts["created"] += 1
            continue
        changed = [k for k, v in defaults.items() if getattr(row, k) != v]
        if changed:
            for key in changed:
                setattr(row, key, defaults[key])
            row.save()
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1

    names = {PREFIX + item.name for item in declared}
    stale = PeriodicTask.objects.filter(name__startswith=PREFIX, enabled=True).exclude(name__in=names)
    counts["disabled"] = stale.update(enabled=False)
    if counts["disabled"] or counts["created"] or counts["updated"]:
        from django_celery_beat.models import PeriodicTasks

        PeriodicTasks.update_changed()
    return counts


PERIODIC_TASKS = [
    Periodic(
        name="core.clear_expired_sessions",
        task="core.clear_expired_sessions",
        crontab={"minute": 17, "hour": 3},
    ),
]
