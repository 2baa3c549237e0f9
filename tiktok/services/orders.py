"""Orders from TikTok: batched fetches of webhook-announced orders, the incremental poll, the
30-day import, and reconciliation.

Every path ends in `orders.facade.order_upsert_from_tiktok`, which is idempotent and never lets an
older `update_time` overwrite a newer state, so the webhook fetch, the poll and a resync may overlap
freely. TikTok is called with no database transaction open (the client may sleep between retries);
each upsert is its own short transaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from creatorflow.outbox.facade import outbox_enqueue
from orders.facade import OPEN_STATUSES, MappingError, normalise_tiktok_status, order_upsert_from_tiktok

from ..client import ORDER_IDS_PER_CALL, TikTokClient
from ..models import PendingOrderFetch, Shop, SyncRun
from .runs import failing_run, run_finish, run_progress, run_start, shop_job

logger = logging.getLogger(__name__)

# The poll asks from a little before its cursor: TikTok's search index lags behind its writes, and
# an order updated in the same second as the cursor must not be skipped.
ORDER_POLL_OVERLAP = 300
FIRST_POLL_LOOKBACK = timedelta(days=1)
IMPORT_WINDOW = timedelta(days=30)
RECONCILE_RECENT = timedelta(days=7)
PAGE_SIZE = 100
# Announcements within one FETCH_DELAY_S bucket share one fetch, sent once the bucket has ended:
# a burst of 3,000 webhooks is a few dozen fetch messages per shop, not 3,000.
FETCH_DELAY_S = 1
# A fetch that finds another one running for the shop asks to run again this soon (its rows may
# have arrived after the running one last looked).
BUSY_RETRY_S = 2.0
MAX_FETCH_ATTEMPTS = 5
MAX_FETCH_BATCHES = 200  # per run; a run that leaves rows behind is followed by the sweeper
DETAILS_LIMIT = 500
FINAL_TIKTOK_STATUSES = ("COMPLETED", "CANCELLED")


def _update_time(doc: dict) -> int:
    try:
        return int(doc.get("update_time") or 0)
    except (TypeError, ValueError):
        return 0


# --- webhook-announced orders ---------------------------------------------------------------------


class FetchBusy(Exception):
    """Another fetch holds the shop's lock: this one runs again shortly rather than being dropped."""

    def __init__(self, shop_pk):
        self.retry_after = BUSY_RETRY_S
        super().__init__(f"another order fetch is running for shop {shop_pk}; again in {BUSY_RETRY_S:g} s")


def pending_orders_add(*, shop, order_id: str, update_time: int = 0) -> None:
    """Queue one order for the next batched fetch, and that fetch, in one transaction.

    One row per (shop, order): a repeated announcement only moves `requested_at` (so a fetch already
    under way knows the row changed after it read it) and keeps the larger `update_time`. The fetch
    is an outbox message keyed by shop and time bucket, due when the bucket ends: every
    announcement of the bucket shares it, and none is sent from a web request or lost with the
    broker (the relay sends it).
    """
    order_id = str(order_id or "").strip()
    if not order_id:
        return
    update_time = max(int(update_time or 0), 0)
    with transaction.atomic():
        if not _pending_touch(shop, order_id, update_time):
            try:
                with transaction.atomic():
                    PendingOrderFetch.objects.create(
                        shop=shop, order_id=order_id, update_time=update_time, requested_at=timezone.now()
                    )
            except IntegrityError:  # a concurrent announcement inserted it first
                _pending_touch(shop, order_id, update_time)
        fetch_enqueue(shop_pk=shop.pk)


def _pending_touch(shop, order_id: str, update_time: int) -> int:
    return PendingOrderFetch.objects.filter(shop=shop, order_id=order_id).update(
        requested_at=timezone.now(), update_time=Greatest(F("update_time"), update_time)
    )


def fetch_enqueue(*, shop_pk, now=None) -> None:
    """The shop's fetch for the current bucket (one outbox row per shop and bucket), due when the
    bucket ends. Inside the caller's transaction."""
    now = now or timezone.now()
    bucket = int(now.timestamp() // FETCH_DELAY_S)
    due = datetime.fromtimestamp((bucket + 1) * FETCH_DELAY_S, tz=UTC)
    outbox_enqueue(
        task="tiktok.fetch_pending_orders",
        kwargs={"shop_pk": str(shop_pk)},
        queue="integrations",
        key=f"tiktok-fetch:{shop_pk}:{bucket}",
        not_before=due,
    )


def pending_orders_fetch(*, shop) -> dict:
    """Fetch the announced orders of a shop, 50 ids a call, oldest announcement first, and upsert them.

    A row is deleted only if it was not announced again since it was read. An id TikTok does not
    return counts an attempt and is dropped after MAX_FETCH_ATTEMPTS. A TikTokError propagates with
    the rows left in place (the task retries). Another fetch already running: returns at once
    with `skipped` (the task turns that into `FetchBusy`, so it runs again shortly).
    """
    counts = {"fetched": 0, "created": 0, "updated": 0, "missing": 0}
    with shop_job(shop, "fetch") as acquired:
        if not acquired:
            return {**counts, "skipped": True}
        client = TikTokClient(shop=shop)
        tried_missing: set[int] = set()
        for _ in range(MAX_FETCH_BATCHES):
            rows = list(
                PendingOrderFetch.objects.filter(shop=shop)
                .exclude(pk__in=tried_missing)
                .order_by("requested_at", "pk")
                .values_list("pk", "order_id", "requested_at")[:ORDER_IDS_PER_CALL]
            )
            if not rows:
                break
            docs = client.get_orders([order_id for _pk, order_id, _at in rows])
            returned = set()
            for doc in docs:
                returned.add(str(doc.get("id") or ""))
                _upsert_counting(shop, doc, counts)
            done = [(pk, at) for pk, order_id, at in rows if order_id in returned]
            if done:
                stale = Q()
                for pk, at in done:
                    stale |= Q(pk=pk, requested_at=at)
                PendingOrderFetch.objects.filter(stale).delete()
            missing = [(pk, order_id) for pk, order_id, _at in rows if order_id not in returned]
            for pk, order_id in missing:
                tried_missing.add(pk)
                _fetch_missed(shop, pk, order_id)
            counts["missing"] += len(missing)
    return counts


def _upsert(shop, doc: dict):
    """Upsert one TikTok document; an unreadable one is logged and skipped (None)."""
    try:
        return order_upsert_from_tiktok(shop=shop, payload=doc)
    except MappingError as exc:
        logger.warning("tiktok: order %s of shop %s is unreadable: %s", doc.get("id"), shop.shop_id, exc)
        return None


def _upsert_counting(shop, doc: dict, counts: dict) -> None:
    result = _upsert(shop, doc)
    if result is None:
        return
    counts["fetched"] += 1
    if result.created:
        counts["created"] += 1
    elif result.changed:
        counts["updated"] += 1


def _fetch_missed(shop, pk: int, order_id: str) -> None:
    PendingOrderFetch.objects.filter(pk=pk).update(
        attempts=F("attempts") + 1, last_error="TikTok did not return this order"
    )
    row = PendingOrderFetch.objects.filter(pk=pk).only("attempts").first()
    if row is not None and row.attempts >= MAX_FETCH_ATTEMPTS:
        logger.warning(
            "tiktok: order %s of shop %s not returned after %d fetches; dropped",
            order_id, shop.shop_id, row.attempts,
        )  # fmt: skip
        row.delete()


# --- searches: the poll and the 30-day import --------------------------------------------------------


def orders_import(*, shop, run: SyncRun, sort_field: str, **filters) -> int:
    """Upsert every order of a search, paged; progress on `run` (total from the first page, done per
    document). Returns the largest `update_time` seen (0 for none)."""
    client = TikTokClient(shop=shop)
    newest = 0
    first = True
    pages = client.iter_order_pages(sort_field=sort_field, sort_order="ASC", page_size=PAGE_SIZE, **filters)
    for page in pages:
        if first:
            run_progress(run, total=int(page.get("total_count") or 0))
            first = False
        for doc in page.get("orders") or []:
            counts = {"fetched": 0, "created": 0, "updated": 0}
            _upsert_counting(shop, doc, counts)
            run_progress(run, done=1, created=counts["created"], updated=counts["updated"])
            newest = max(newest, _update_time(doc))
    return newest


def advance_order_cursor(shop, newest: int) -> None:
    """Move the cursor to `newest` (never back) and stamp the sync time."""
    now = timezone.now()
    Shop.objects.filter(pk=shop.pk).update(
        order_cursor=Greatest(F("order_cursor"), int(newest)), last_order_sync_at=now
    )
    shop.refresh_from_db(fields=["order_cursor", "last_order_sync_at"])


def orders_poll(*, shop) -> SyncRun | None:
    """The incremental poll: orders updated since the cursor (less the overlap), oldest first.

    Returns the ORDER_POLL run, or None when another poll of the shop is running. A failure marks
    the run failed and re-raises with the cursor unmoved, so the retry asks for the same window.
    """
    with shop_job(shop, "poll") as acquired:
        if not acquired:
            return None
        shop.refresh_from_db(fields=["order_cursor"])
        if shop.order_cursor:
            since = max(shop.order_cursor - ORDER_POLL_OVERLAP, 0)
        else:
            since = int((timezone.now() - FIRST_POLL_LOOKBACK).timestamp())
        run = run_start(shop=shop, kind=SyncRun.Kind.ORDER_POLL)
        with failing_run(run):
            newest = orders_import(shop=shop, run=run, sort_field="update_time", update_time_ge=since)
        advance_order_cursor(shop, newest)
        return run_finish(run, details={"update_time_ge": since, "newest": newest})


def orders_import_recent(*, shop, run: SyncRun, by: str = "create_time") -> int:
    """Orders created (first import) or updated (resync) in the last 30 days; moves the cursor."""
    since = int((timezone.now() - IMPORT_WINDOW).timestamp())
    newest = orders_import(shop=shop, run=run, sort_field=by, **{f"{by}_ge": since})
    advance_order_cursor(shop, newest)
    return newest


# --- reconciliation -----------------------------------------------------------------------------------


def orders_reconcile(*, shop) -> SyncRun | None:
    """Compare the status we hold of open and recent orders with TikTok's and fix what differs.

    Every difference is upserted from TikTok's document: it is fixed when TikTok's document is newer
    (the upsert applies it), otherwise noted as not fixed. Orders TikTok no longer returns are
    listed as missing. Returns the RECONCILE run, or None when one is already running.
    """
    with shop_job(shop, "reconcile") as acquired:
        if not acquired:
            return None
        run = run_start(shop=shop, kind=SyncRun.Kind.RECONCILE)
        with failing_run(run):
            report = _reconcile(shop)
        return run_finish(run, **report)


def _reconcile(shop) -> dict:
    recent = timezone.now() - RECONCILE_RECENT
    ours = dict(
        shop.orders.filter(
            Q(status__in=OPEN_STATUSES)
            | ~Q(tiktok_status__in=FINAL_TIKTOK_STATUSES)
            | Q(updated_at__gte=recent)
        )
        .order_by("created_at")
        .values_list("tiktok_order_id", "tiktok_status")
    )
    ids = list(ours)
    client = TikTokClient(shop=shop)
    details: list[dict] = []
    mismatched = fixed = 0
    for start in range(0, len(ids), ORDER_IDS_PER_CALL):
        chunk = ids[start : start + ORDER_IDS_PER_CALL]
        docs = {str(doc.get("id")): doc for doc in client.get_orders(chunk)}
        for order_id in chunk:
            mine = normalise_tiktok_status(ours[order_id])
            doc = docs.get(order_id)
            if doc is None:
                details.append({"order_id": order_id, "ours": mine, "theirs": None, "fixed": False,
                                "missing": True})  # fmt: skip
                continue
            theirs = normalise_tiktok_status(str(doc.get("status") or ""))
            if mine == theirs:
                continue
            mismatched += 1
            ok = _reconcile_one(shop, doc, theirs)
            fixed += ok
            details.append({"order_id": order_id, "ours": mine, "theirs": theirs, "fixed": ok})
    return {
        "checked": len(ids),
        "mismatched": mismatched,
        "fixed": fixed,
        "total": len(ids),
        "done": len(ids),
        "details": details[:DETAILS_LIMIT],
    }


def _reconcile_one(shop, doc: dict, theirs: str) -> bool:
    result = _upsert(shop, doc)
    return (
        result is not None
        and result.changed
        and normalise_tiktok_status(result.order.tiktok_status) == theirs
    )
