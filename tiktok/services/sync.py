"""A shop's first import and resync (catalogue, then orders), with progress. The run functions are
owned by the orders-sync work; `shop_resync` (start one) is here so the dashboard can call it."""

from __future__ import annotations

from django.db import transaction

from creatorflow.audit.facade import audit_log
from creatorflow.outbox.facade import outbox_enqueue

from ..models import SyncRun


def shop_first_import(*, shop, run) -> None:
    raise NotImplementedError


def shop_resync_run(*, shop, run) -> None:
    raise NotImplementedError


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
