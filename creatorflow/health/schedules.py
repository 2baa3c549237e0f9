"""Periodic tasks of the health app (synced into django-celery-beat by creatorflow.core.schedules)."""

from datetime import timedelta

from creatorflow.core.schedules import Periodic

PERIODIC_TASKS = [
    Periodic(name="health.record", task="health.record_checks", every=timedelta(seconds=30), queue="default"),
]
