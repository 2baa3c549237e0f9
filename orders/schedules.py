"""Periodic order jobs, synced into django-celery-beat by creatorflow.core.schedules."""

from datetime import timedelta

from creatorflow.core.schedules import Periodic

PERIODIC_TASKS = [
    # priority moves with the clock (SLA deadline); every 5 minutes keeps levels within one step
    Periodic(name="orders.rescore", task="orders.rescore_open", every=timedelta(minutes=5)),
    # "wait for stock": a backordered order goes on by itself once its stock arrives
    Periodic(name="orders.retry_backorders", task="orders.retry_backorders", every=timedelta(minutes=5)),
]
