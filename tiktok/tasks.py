"""TikTok tasks: thin, take ids only, call one service. Beat schedules them (tiktok/schedules.py).

Routed to the `integrations` queue by CELERY_TASK_ROUTES (`tiktok.*`). A per-shop task that meets a
passing failure (rate limit, TikTok 5xx, timeout, open circuit) retries with backoff; the fan-out
jobs only dispatch. Every service is idempotent, so a redelivered message (acks_late) is harmless.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from creatorflow.resilience.circuit import CircuitOpenError
from creatorflow.resilience.retry import RetryPolicy, retry_task_or_raise

from .models import PendingOrderFetch, Shop, SyncRun
from .services import catalog, orders, runs, stock_push, sync, videos
from .tokens import refresh_expiring
from .wire import TikTokError

logger = logging.getLogger(__name__)

SHOP_RETRY = RetryPolicy(max_attempts=6, base_seconds=30.0, cap_seconds=600.0)

_COMMON = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


def _active_shops():
    return Shop.objects.exclude(status=Shop.Status.DISCONNECTED).filter(authorization__isnull=False)


def _shop(shop_pk: str) -> Shop | None:
    shop = Shop.objects.select_related("authorization", "account").filter(pk=shop_pk).first()
    if shop is None or not shop.is_active:
        logger.info("tiktok: shop %s is gone or disconnected; nothing to do", shop_pk)
        return None
    return shop


def _retry_passing(task, exc: Exception):
    """Retry after a passing failure (backoff, or the open breaker's remaining time); else re-raise."""
    passing = isinstance(exc, CircuitOpenError) or (isinstance(exc, TikTokError) and exc.retryable)
    if not passing:
        raise exc
    retry_task_or_raise(task, exc, SHOP_RETRY, retry_after=getattr(exc, "retry_after", None))


@shared_task(bind=True, name="tiktok.first_import", time_limit=3600, soft_time_limit=3500, **_COMMON)
def first_import_task(self, shop_pk: str, run_pk: str) -> None:
    """After connecting: the whole catalogue, then every open and recent order (progress in the run)."""
    shop = _shop(shop_pk)
    run = SyncRun.objects.filter(pk=run_pk).first()
    if shop is None or run is None:
        return
    try:
        sync.shop_first_import(shop=shop, run=run)
    except Exception as exc:
        _retry_passing(self, exc)


@shared_task(bind=True, name="tiktok.resync_shop", time_limit=3600, soft_time_limit=3500, **_COMMON)
def resync_shop_task(self, shop_pk: str, run_pk: str) -> None:
    shop = _shop(shop_pk)
    run = SyncRun.objects.filter(pk=run_pk).first()
    if shop is None or run is None:
        return
    try:
        sync.shop_resync_run(shop=shop, run=run)
    except Exception as exc:
        _retry_passing(self, exc)


@shared_task(name="tiktok.poll_orders", time_limit=60, soft_time_limit=50, **_COMMON)
def poll_orders_task() -> int:
    """Beat, every 2 minutes: one incremental poll per connected shop."""
    count = 0
    for shop_pk in _active_shops().values_list("pk", flat=True):
        poll_shop_orders_task.delay(str(shop_pk))
        count += 1
    return count


@shared_task(bind=True, name="tiktok.poll_shop_orders", time_limit=600, soft_time_limit=540, **_COMMON)
def poll_shop_orders_task(self, shop_pk: str) -> None:
    shop = _shop(shop_pk)
    if shop is None:
        return
    try:
        orders.orders_poll(shop=shop)
    except Exception as exc:
        _retry_passing(self, exc)


@shared_task(bind=True, name="tiktok.fetch_pending_orders", time_limit=300, soft_time_limit=270, **_COMMON)
def fetch_pending_orders_task(self, shop_pk: str) -> None:
    """Fetch the orders webhooks announced, 50 ids a call, and upsert them. Sent through the outbox
    (one per shop and second), so a failure here is retried by the outbox: `FetchBusy` when another
    fetch holds the shop (again in 2 s), a passing TikTok error after its backoff or the breaker's
    remaining open time."""
    shop = _shop(shop_pk)
    if shop is None:
        return
    try:
        result = orders.pending_orders_fetch(shop=shop)
    except Exception as exc:
        _retry_passing(self, exc)
        return
    if result.get("skipped"):
        raise orders.FetchBusy(shop_pk)


@shared_task(name="tiktok.sweep_pending_orders", time_limit=60, soft_time_limit=50, **_COMMON)
def sweep_pending_orders_task() -> int:
    """Beat: a shop whose announced orders were not fetched (a fetch that gave up) gets one again."""
    shop_pks = list(PendingOrderFetch.objects.values_list("shop_id", flat=True).distinct())
    with transaction.atomic():
        for shop_pk in shop_pks:
            orders.fetch_enqueue(shop_pk=shop_pk)
    return len(shop_pks)


@shared_task(name="tiktok.sync_catalogs", time_limit=60, soft_time_limit=50, **_COMMON)
def sync_catalogs_task() -> int:
    """Beat, every 15 minutes: incremental catalogue sync per shop."""
    count = 0
    for shop_pk in _active_shops().values_list("pk", flat=True):
        sync_shop_catalog_task.delay(str(shop_pk))
        count += 1
    return count


@shared_task(bind=True, name="tiktok.sync_shop_catalog", time_limit=1800, soft_time_limit=1700, **_COMMON)
def sync_shop_catalog_task(self, shop_pk: str) -> None:
    shop = _shop(shop_pk)
    if shop is None:
        return
    try:
        catalog.catalog_sync(shop=shop, full=False)
    except Exception as exc:
        _retry_passing(self, exc)


@shared_task(name="tiktok.push_stock", time_limit=300, soft_time_limit=270, **_COMMON)
def push_stock_task() -> dict:
    """Push the available stock of every SKU whose debounce window has passed, batched per product."""
    return stock_push.stock_push_due()


@shared_task(name="tiktok.poll_videos", time_limit=60, soft_time_limit=50, **_COMMON)
def poll_videos_task() -> int:
    count = 0
    for shop_pk in _active_shops().values_list("pk", flat=True):
        poll_shop_videos_task.delay(str(shop_pk))
        count += 1
    return count


@shared_task(bind=True, name="tiktok.poll_shop_videos", time_limit=600, soft_time_limit=540, **_COMMON)
def poll_shop_videos_task(self, shop_pk: str) -> None:
    shop = _shop(shop_pk)
    if shop is None:
        return
    try:
        videos.videos_poll(shop=shop)
    except Exception as exc:
        _retry_passing(self, exc)


@shared_task(name="tiktok.reconcile_orders", time_limit=60, soft_time_limit=50, **_COMMON)
def reconcile_orders_task() -> int:
    count = 0
    for shop_pk in _active_shops().values_list("pk", flat=True):
        reconcile_shop_task.delay(str(shop_pk))
        count += 1
    return count


@shared_task(bind=True, name="tiktok.reconcile_shop", time_limit=1800, soft_time_limit=1700, **_COMMON)
def reconcile_shop_task(self, shop_pk: str) -> None:
    shop = _shop(shop_pk)
    if shop is None:
        return
    try:
        orders.orders_reconcile(shop=shop)
    except Exception as exc:
        _retry_passing(self, exc)


@shared_task(name="tiktok.refresh_tokens", time_limit=300, soft_time_limit=270, **_COMMON)
def refresh_tokens_task() -> dict:
    return refresh_expiring()


@shared_task(name="tiktok.prune_api_calls", time_limit=300, soft_time_limit=270, **_COMMON)
def prune_api_calls_task() -> int:
    return runs.api_calls_prune()
