"""Periodic shipping jobs, synced into django-celery-beat by creatorflow.core.schedules."""

from datetime import timedelta

from creatorflow.core.schedules import Periodic

PERIODIC_TASKS = [
    Periodic(name="shipping.sweep", task="shipping.sweep", every=timedelta(minutes=2), queue="integrations"),
    # the built-in sandbox carrier's parcels move on and send their tracking webhooks
    Periodic(
        name="shipping.sandbox_progress",
        task="shipping.sandbox_progress",
        every=timedelta(minutes=1),
        queue="integrations",
    ),
]
