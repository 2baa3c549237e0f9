"""Periodic outbox jobs, synced into django-celery-beat by creatorflow.core.schedules."""

from datetime import timedelta

from creatorflow.core.schedules import Periodic

PERIODIC_TASKS = [
    Periodic(
        name="outbox.redispatch", task="outbox.redispatch", every=timedelta(seconds=30), queue="default"
    ),
    Periodic(name="outbox.purge_done", task="outbox.purge_done", crontab={"minute": "29", "hour": "3"}),
]
