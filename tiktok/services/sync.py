"""A shop's first import and resync (catalogue, then orders), with progress. The run functions are
owned by the orders-sync work; `shop_resync` (start one) is here so the dashboard can call it."""

from __future__ import annotations

import logging

from django.db import transaction

from creatorflow.audit.facade import audit_log
from creatorflow.outbox.facade import outbox_enqueue

from ..models import Shop, SyncRun
from . import catalog, orders
from .runs import run_finish, shop_job

logger = logging.getLogger(__name__)

STATUS_MESSAGE_LIMIT = 200


def shop_first_import(*, shop, run) -> None:
    """After connecting: the whole catalogue, then the orders created in the last 30 days.

    The shop shows SYNCING meanwhile, CONNECTED after, ERROR (with a short message) when it fails;
    the error is re-raised so the task retries, and the retry starts the same run over.
    """
    _run_sync(shop=shop, run=run, steps=_first_import_steps)


def shop_resync_run(*, shop, run) -> None:
    """The resync button: catalogue changes, orders updated in the last 30 days, then reconciliation."""
    _run_sync(shop=shop, run=run, steps=_resync_steps)


def _first_import_steps(shop, run) -> dict:
    catalog.catalog_sync(shop=shop, full=True)
    orders.orders_import_recent(shop=shop, run=run, by="create_time")
    return {}


def _resync_steps(shop, run) -> dict:
    catalog.catalog_sync(shop=shop, full=False)
    orders.orders_import_recent(shop=shop, run=run, by="update_time")
    report = orders.orders_reconcile(shop=shop)
    if report is None:  # a reconciliation of this shop is already running: it reports on its own
        return {}
    return {
        "checked": report.checked,
        "mismatched": report.mismatched,
        "fixed": report.fixed,
        "details": {"reconcile_run": str(report.pk)},
    }


def _run_sync(*, shop, run, steps) -> None:
    with shop_job(shop, "sync") as acquired:
        if not acquired:
            logger.info("tiktok: shop %s is already syncing; run %s not started", shop.pk, run.pk)
            run_finish(run, error="Another sync of this shop was running; start it again when it ends.")
            return
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.RUNNING, error="", finished_at=None, done=0, created=0, updated=0
        )
        run.refresh_from_db()
        _set_status(shop, Shop.Status.SYNCING, "")
        try:
            counters = steps(shop, run)
        except Exception as exc:
            message = _short(exc)
            run_finish(run, error=str(exc) or message)
            _set_status(shop, Shop.Status.ERROR, message)
            raise
        run_finish(run, **counters)
        _set_status(shop, Shop.Status.CONNECTED, "")


def _short(exc: Exception) -> str:
    text = getattr(exc, "message", "") or str(exc) or type(exc).__name__
    return f"Sync failed: {text}"[:STATUS_MESSAGE_LIMIT]


def _set_status(shop, status: str, message: str) -> None:
    """Change the shop's status unless it was disconnected meanwhile (that wins)."""
    Shop.objects.filter(pk=shop.pk).exclude(status=Shop.Status.DISCONNECTED).update(
        status=status, status_message=message
    )
    shop.refresh_from_db(fields=["status", "status_message"])


def shop_resync(*, shop, actor) -> SyncRun:
    """Start a resync: a RESYNC run (the progress bar reads it) and its task, sent after commit.

    A resync already running for the shop is returned instead of starting a second one.
    """
    with transaction.atomic():
        running = (
            SyncRun.objects.select_for_update()
            .filter(shop=shop, kind=SyncRun.Kind.RESYNC, status=SyncRun.Status.RUNNING)
            .first()
        )
        if running is not None:
            return running
        run = SyncRun.objects.create(shop=shop, kind=SyncRun.Kind.RESYNC)
        outbox_enqueue(
            task="tiktok.resync_shop",
            kwargs={"shop_pk": str(shop.pk), "run_pk": str(run.pk)},
            queue="integrations",
            key=f"tiktok.resync:{run.pk}",
        )
        audit_log(actor=actor, action="tiktok.shop.resync", target=shop, account=shop.account, changes={})
    return run
