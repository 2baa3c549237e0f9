"""Periodic inbox jobs, synced into django-celery-beat by creatorflow.core.schedules."""

from datetime import timedelta

from creatorflow.core.schedules import Periodic

PERIODIC_TASKS = [
    Periodic(name="inbox.sweep", task="inbox.sweep", every=timedelta(seconds=60), queue="default"),
]
