"""Periodic TikTok jobs, synced into django-celery-beat by creatorflow.core.schedules."""

from datetime import timedelta

from creatorflow.core.schedules import Periodic

PERIODIC_TASKS = [
    # webhooks are not guaranteed: the incremental poll brings in whatever they missed
    Periodic(name="tiktok.poll_orders", task="tiktok.poll_orders", every=timedelta(minutes=2)),
    Periodic(
        name="tiktok.sweep_pending_orders", task="tiktok.sweep_pending_orders", every=timedelta(minutes=1)
    ),
    Periodic(name="tiktok.sync_catalogs", task="tiktok.sync_catalogs", every=timedelta(minutes=15)),
    # the debounced stock push is dispatched on change; this catches pushes whose message was lost
    Periodic(name="tiktok.push_stock", task="tiktok.push_stock", every=timedelta(seconds=30)),
    Periodic(name="tiktok.poll_videos", task="tiktok.poll_videos", every=timedelta(minutes=15)),
    Periodic(name="tiktok.reconcile_orders", task="tiktok.reconcile_orders", every=timedelta(hours=1)),
    Periodic(name="tiktok.refresh_tokens", task="tiktok.refresh_tokens", every=timedelta(hours=1)),
    Periodic(name="tiktok.prune_api_calls", task="tiktok.prune_api_calls", every=timedelta(days=1)),
]
