"""Our available stock out to TikTok: the inventory channel adapter and the debounced push.

Inventory tells the channel, after each committed stock change, which SKUs changed
(`stock_changed`). We do not call TikTok there: a burst of reservations on one viral SKU would be a
burst of calls. Each SKU gets one `PendingStockPush` row (a row already waiting keeps its earlier
due time, so a steady stream of changes cannot postpone the push for ever), and `stock_push_due`
pushes every due SKU with one `inventory/update` call per TikTok product, listing every warehouse we
know TikTok by (TikTok's update is an absolute set). It runs from an outbox message due when the
debounce ends (one per DEBOUNCE_SECONDS bucket, written with the rows, so a change made in a web
request never waits on the broker and is never lost with it) and from beat every 30 s.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from creatorflow.core.errors import ServiceUnavailable
from creatorflow.outbox.facade import outbox_enqueue
from creatorflow.resilience.circuit import CircuitOpenError
from creatorflow.resilience.retry import RetryPolicy
from inventory.channel import ChannelCount
from inventory.models import SKU, StockLevel, SyncStatus, Warehouse
from inventory.services.alerts import sku_sync_failed, sku_sync_succeeded

from ..client import TikTokClient
from ..models import CatalogLink, PendingStockPush, Shop
from ..wire import TikTokError

logger = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 2
# a failed push is tried again after 30 s, 60 s, 120 s ... up to 15 minutes
PUSH_RETRY = RetryPolicy(base_seconds=30.0, cap_seconds=15 * 60, jitter=False)
CLAIM_BATCH = 1000


def _active_shops():
    return Shop.objects.filter(authorization__isnull=False).exclude(status=Shop.Status.DISCONNECTED)


def _links_by_product(product_ids) -> dict:
    """The CatalogLink (with its shop) we push through for each product: in an active shop, the
    most recently synced one if a product is listed twice."""
    links = (
        CatalogLink.objects.filter(product_id__in=list(product_ids), shop__in=_active_shops())
        .select_related("shop__authorization")
        .order_by("product_id", "-synced_at")
    )
    chosen: dict = {}
    for link in links:
        chosen.setdefault(link.product_id, link)
    return chosen


class TikTokChannel:
    """The adapter `inventory.channel` calls (registered in `TiktokConfig.ready`)."""

    name = "tiktok"

    def fetch_stock(self, *, sku) -> ChannelCount:
        """TikTok's quantities of the SKU per TikTok warehouse id. A network call: never inside a
        transaction. A SKU that is not listed in a connected shop is `channel_unavailable` (503)."""
        link = _links_by_product([sku.product_id]).get(sku.product_id) if sku.tiktok_sku_id else None
        if link is None:
            raise ServiceUnavailable(
                "This SKU is not listed in a connected TikTok Shop yet: sync the catalogue first.",
                code="channel_unavailable",
            )
        document = TikTokClient(shop=link.shop).get_product(link.tiktok_product_id)
        for raw in document.get("skus") or []:
            if isinstance(raw, dict) and str(raw.get("id")) == sku.tiktok_sku_id:
                quantities = {
                    str(row["warehouse_id"]): max(0, int(row.get("quantity") or 0))
                    for row in raw.get("inventory") or []
                    if isinstance(row, dict) and row.get("warehouse_id")
                }
                return ChannelCount(sku_id=str(sku.pk), quantities=quantities, fetched_at=timezone.now())
        raise ServiceUnavailable(
            f"TikTok no longer lists {sku.seller_sku} in its product: sync the catalogue.",
            code="channel_unavailable",
        )

    def stock_changed(self, *, sku_ids: list[str]) -> None:
        stock_changed(sku_ids=sku_ids)


def stock_changed(*, sku_ids) -> int:
    """Queue a push for those of these SKUs that TikTok lists (a TikTok SKU id, a product linked in
    an active shop). Returns how many were queued. Called after commit; cheap when none qualify."""
    ids = sorted({str(pk) for pk in sku_ids})
    if not ids:
        return 0
    listed = CatalogLink.objects.filter(shop__in=_active_shops()).values("product_id")
    eligible = list(
        SKU.objects.filter(pk__in=ids, product_id__in=listed)
        .exclude(tiktok_sku_id="")
        .values_list("pk", flat=True)
    )
    if not eligible:
        return 0
    waiting = set(PendingStockPush.objects.filter(sku_id__in=eligible).values_list("sku_id", flat=True))
    now = timezone.now()
    due = now + timedelta(seconds=DEBOUNCE_SECONDS)
    with transaction.atomic():
        PendingStockPush.objects.bulk_create(
            [
                PendingStockPush(sku_id=pk, requested_at=now, due_at=due)
                for pk in eligible
                if pk not in waiting
            ],
            ignore_conflicts=True,  # one raced in meanwhile: it keeps its (earlier) due time
        )
        SKU.objects.filter(pk__in=eligible).exclude(inventory_sync_status=SyncStatus.PENDING).update(
            inventory_sync_status=SyncStatus.PENDING
        )
        if len(waiting) < len(eligible):  # a row already waiting has its push coming
            _push_enqueue(due)
    return len(eligible)


def _push_enqueue(due) -> None:
    """The push for every row due by `due`: one outbox message per debounce bucket (later rows of
    the same bucket share it), sent by the relay once due."""
    bucket = int(due.timestamp() // DEBOUNCE_SECONDS)
    outbox_enqueue(
        task="tiktok.push_stock",
        queue="integrations",
        key=f"tiktok-push:{bucket}",
        not_before=datetime.fromtimestamp((bucket + 1) * DEBOUNCE_SECONDS, tz=UTC),
    )


def _claim(now, limit: int = CLAIM_BATCH) -> list:
    """Take the due rows (deleted in a short transaction; concurrent pushers skip locked rows)."""
    with transaction.atomic():
        rows = list(
            PendingStockPush.objects.select_for_update(skip_locked=True)
            .filter(due_at__lte=now)
            .order_by("due_at")
            .values_list("pk", "sku_id")[:limit]
        )
        if rows:
            PendingStockPush.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    return [sku_id for _, sku_id in rows]


def _requeue(skus) -> None:
    """Put failed SKUs back with a later due time that grows with their consecutive failures."""
    now = timezone.now()
    rows = []
    for sku in skus:
        failures = max(1, getattr(sku, "sync_failures", 1))
        delay = PUSH_RETRY.backoff(failures)
        rows.append(PendingStockPush(sku_id=sku.pk, requested_at=now, due_at=now + timedelta(seconds=delay)))
    PendingStockPush.objects.bulk_create(rows, ignore_conflicts=True)


def _failed_sku_ids(data, group) -> dict[str, str]:
    """{TikTok SKU id: message} from `data.errors[]`. An error naming no SKU fails them all."""
    failed: dict[str, str] = {}
    for error in (data or {}).get("errors") or []:
        if not isinstance(error, dict):
            continue
        detail = error.get("detail") if isinstance(error.get("detail"), dict) else {}
        sku_id = str(detail.get("sku_id") or error.get("sku_id") or "")
        message = f"{error.get('code', '')} {error.get('message', '')}".strip() or "rejected by TikTok"
        if sku_id:
            failed[sku_id] = message
        else:
            failed.update({sku.tiktok_sku_id: message for sku in group})
    return failed


def stock_push_due(*, now=None) -> dict:
    """Push every due SKU's available stock, one `inventory/update` per TikTok product.

    available = on_hand - reserved (never below 0) for every warehouse of the account that has a
    TikTok warehouse id. Per-SKU errors count as failed pushes of those SKUs (3 in a row open the
    sync-failure alert); a failed call fails every SKU of that product and re-queues them with a
    later due time; the other products go on. Returns {products, skus, failed}.
    """
    counts = {"products": 0, "skus": 0, "failed": 0}
    claimed = _claim(now or timezone.now())
    if not claimed:
        return counts
    skus = list(SKU.objects.filter(pk__in=claimed).exclude(tiktok_sku_id="").select_related("account"))
    links = _links_by_product({sku.product_id for sku in skus})
    warehouses: dict = defaultdict(list)
    for pk, account_id, tiktok_id in (
        Warehouse.objects.filter(account_id__in={s.account_id for s in skus})
        .exclude(tiktok_warehouse_id="")
        .order_by("tiktok_warehouse_id")
        .values_list("pk", "account_id", "tiktok_warehouse_id")
    ):
        warehouses[account_id].append((pk, tiktok_id))
    available = {
        (sku_id, wh_id): max(0, on_hand - reserved)
        for sku_id, wh_id, on_hand, reserved in StockLevel.objects.filter(
            sku_id__in=[s.pk for s in skus]
        ).values_list("sku_id", "warehouse_id", "on_hand", "reserved")
    }
    groups: dict = defaultdict(list)
    for sku in skus:
        link = links.get(sku.product_id)
        if link is None:
            logger.info("tiktok: SKU %s is no longer listed in an active shop; push dropped", sku.pk)
            continue
        groups[(link.shop_id, link.tiktok_product_id)].append((link.shop, sku))
    for (_shop_pk, product_id), members in sorted(groups.items(), key=lambda item: item[0]):
        shop = members[0][0]
        group = [sku for _, sku in members]
        counts["products"] += 1
        counts["skus"] += len(group)
        counts["failed"] += _push_product(shop, product_id, group, warehouses, available)
    return counts


def _push_product(shop, product_id: str, group: list, warehouses: dict, available: dict) -> int:
    """One product's call and its outcome per SKU; returns how many SKUs failed."""
    body, failed = [], 0
    pushable = []
    for sku in group:
        rows = [
            {"warehouse_id": tiktok_id, "quantity": available.get((sku.pk, wh_pk), 0)}
            for wh_pk, tiktok_id in warehouses.get(sku.account_id, [])
        ]
        if not rows:
            sku_sync_failed(sku=sku, error="no warehouse is linked to a TikTok warehouse")
            failed += 1
            continue
        body.append({"id": sku.tiktok_sku_id, "inventory": rows})
        pushable.append(sku)
    if not body:
        return failed
    try:
        data = TikTokClient(shop=shop).update_inventory(product_id, skus=body)
    except (TikTokError, CircuitOpenError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        for sku in pushable:
            sku_sync_failed(sku=sku, error=error)
        _requeue(pushable)
        return failed + len(pushable)
    rejected = _failed_sku_ids(data, pushable)
    for sku in pushable:
        if sku.tiktok_sku_id in rejected:
            sku_sync_failed(sku=sku, error=rejected[sku.tiktok_sku_id])
            failed += 1
        else:
            sku_sync_succeeded(sku=sku)
    return failed
