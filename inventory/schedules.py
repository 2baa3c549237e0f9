"""Periodic stock jobs, synced into django-celery-beat by creatorflow.core.schedules."""

from datetime import timedelta

from creatorflow.core.schedules import Periodic

PERIODIC_TASKS = [
    Periodic(
        name="inventory.expire_reservations",
        task="inventory.expire_reservations",
        every=timedelta(minutes=1),
    ),
    Periodic(
        name="inventory.reconcile_ledger",
        task="inventory.reconcile_ledger",
        crontab={"minute": 23, "hour": 2},
    ),
    Periodic(
        name="inventory.refresh_velocity",
        task="inventory.refresh_velocity",
        crontab={"minute": 7, "hour": 1},
    ),
    # the nightly refresh sweeps alerts too; this hourly sweep is the safety net for missed callbacks
    Periodic(
        name="inventory.evaluate_alerts",
        task="inventory.evaluate_alerts",
        crontab={"minute": 37},
    ),
]
