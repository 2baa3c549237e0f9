"""Orders from the sandbox through the real client: the poll, batched webhook fetches, the 30-day
import, reconciliation, and what happens when TikTok fails or answers out of order."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from creatorflow.outbox.models import OutboxMessage
from creatorflow.outbox.services import outbox_run
from inventory.models import StockLevel
from inventory.tests.factories import stocked_sku
from orders.facade import order_upsert_from_tiktok
from orders.models import Order
from orders.tests.tiktok_docs import tiktok_order
from tiktok import tasks as _tasks  # noqa: F401 - registers the fetch task the outbox runs
from tiktok.models import PendingOrderFetch, Shop, SyncRun
from tiktok.services import orders as orders_sync
from tiktok.services import sync
from tiktok.services.runs import run_start
from tiktok.tests.connected import connect_sandbox_shop
from tiktok.wire import ServerError

pytestmark = pytest.mark.django_db

ORDERS_BY_ID = "/order/202309/orders"
ORDER_SEARCH = "/order/202309/orders/search"
BREAKER_KEYS = ["cb:v1:tiktok:failures", "cb:v1:tiktok:opened_at", "cb:v1:tiktok:trial"]


@pytest.fixture(autouse=True)
def closed_breaker():
    """Fault tests open TikTok's breaker; it lives in the shared cache, so close it around each test."""
    cache.delete_many(BREAKER_KEYS)
    yield
    cache.delete_many(BREAKER_KEYS)


@pytest.fixture
def stocked_shop(tiktok_sandbox):
    """A connected shop whose two sandbox SKUs exist in our inventory with 50 units each."""
    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    product = tiktok_sandbox.add_product(
        sb_shop["id"],
        title="Lip Oil",
        skus=[{"seller_sku": "LIP-1", "quantity": 500}, {"seller_sku": "LIP-2", "quantity": 500}],
    )
    skus = [
        stocked_sku(account=shop.account, on_hand=50, tiktok_sku_id=s["id"], seller_sku=s["seller_sku"])
        for s in product["skus"]
    ]
    return sb_shop, shop, skus


def reserved(sku) -> int:
    return StockLevel.objects.filter(sku=sku).aggregate(n=Sum("reserved"))["n"] or 0


def calls_to(sandbox, template: str) -> list:
    return [c for c in sandbox.calls if c.template == template]


def test_webhooks_lost_the_poll_still_brings_every_order_in_with_stock_reserved(tiktok_sandbox, stocked_shop):
    # given three orders whose webhooks never arrive
    sb_shop, shop, (lip1, lip2) = stocked_shop
    tiktok_sandbox.faults.drop_webhooks = True
    placed = [
        tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 2)]),
        tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1), (lip2.tiktok_sku_id, 3)]),
        tiktok_sandbox.create_order(sb_shop["id"], [(lip2.tiktok_sku_id, 1)]),
    ]

    # when the poll runs
    run = orders_sync.orders_poll(shop=shop)

    # then every order is ours, its stock reserved, and the run and the cursor say so
    ours = Order.objects.filter(shop=shop)
    assert sorted(ours.values_list("tiktok_order_id", flat=True)) == sorted(o["id"] for o in placed)
    assert set(ours.values_list("status", flat=True)) == {"ready"}
    assert (reserved(lip1), reserved(lip2)) == (3, 4)
    assert (run.kind, run.status, run.created, run.updated, run.total) == ("order_poll", "done", 3, 0, 3)
    shop.refresh_from_db()
    assert shop.order_cursor == max(o["update_time"] for o in placed)
    assert shop.last_order_sync_at is not None


def test_the_next_poll_asks_from_the_cursor_less_the_overlap_and_changes_nothing_twice(
    tiktok_sandbox, stocked_shop
):
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    orders_sync.orders_poll(shop=shop)
    cursor = Shop.objects.get(pk=shop.pk).order_cursor

    # when the poll runs again with nothing new
    again = orders_sync.orders_poll(shop=shop)

    # then it asked from cursor - 5 minutes, saw the same order, and reserved nothing twice
    assert again.details["update_time_ge"] == cursor - orders_sync.ORDER_POLL_OVERLAP
    assert (again.created, again.updated, again.done) == (0, 0, 1)
    assert reserved(lip1) == 1
    assert Shop.objects.get(pk=shop.pk).order_cursor == cursor


def test_the_poll_pages_through_more_than_one_page(tiktok_sandbox, stocked_shop):
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    for _ in range(orders_sync.PAGE_SIZE + 5):
        tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)

    run = orders_sync.orders_poll(shop=shop)

    assert len(calls_to(tiktok_sandbox, ORDER_SEARCH)) == 2
    assert Order.objects.filter(shop=shop).count() == orders_sync.PAGE_SIZE + 5
    assert (run.total, run.done, run.created) == (105, 105, 105)
    assert reserved(lip1) == 50  # the rest are backordered, never dropped
    assert Order.objects.filter(shop=shop, status="backordered").count() == 55


def test_a_failing_poll_marks_its_run_failed_and_keeps_the_cursor(tiktok_sandbox, stocked_shop):
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    Shop.objects.filter(pk=shop.pk).update(order_cursor=int(time.time()) - 60)
    shop.refresh_from_db()
    tiktok_sandbox.faults.fail_5xx = 100

    with pytest.raises(ServerError):
        orders_sync.orders_poll(shop=shop)

    run = SyncRun.objects.get(shop=shop, kind=SyncRun.Kind.ORDER_POLL)
    assert run.status == "failed" and "injected" in run.error
    assert Shop.objects.get(pk=shop.pk).order_cursor == shop.order_cursor
    assert not Order.objects.filter(shop=shop).exists()


def test_announced_orders_are_fetched_in_batches_of_at_most_50(tiktok_sandbox, stocked_shop):
    # given 120 orders announced by webhooks (our handler queues them)
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    placed = [
        tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
        for _ in range(120)
    ]
    for order in placed:
        orders_sync.pending_orders_add(shop=shop, order_id=order["id"], update_time=order["update_time"])
    assert PendingOrderFetch.objects.filter(shop=shop).count() == 120

    # when the fetch runs
    counts = orders_sync.pending_orders_fetch(shop=shop)

    # then three calls of at most 50 ids fetched them all and the queue is empty
    fetches = calls_to(tiktok_sandbox, ORDERS_BY_ID)
    assert len(fetches) == 3
    assert counts == {"fetched": 120, "created": 120, "updated": 0, "missing": 0}
    assert Order.objects.filter(shop=shop).count() == 120
    assert not PendingOrderFetch.objects.exists()


def test_a_repeated_announcement_keeps_one_row_with_the_newest_update_time(tiktok_sandbox, stocked_shop):
    _sb_shop, shop, _skus = stocked_shop
    orders_sync.pending_orders_add(shop=shop, order_id="576653688135258178", update_time=200)
    first = PendingOrderFetch.objects.get()
    orders_sync.pending_orders_add(shop=shop, order_id="576653688135258178", update_time=100)

    row = PendingOrderFetch.objects.get()
    assert row.update_time == 200
    assert row.requested_at > first.requested_at


def test_a_failing_fetch_leaves_the_announced_orders_in_place(tiktok_sandbox, stocked_shop):
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    order = tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    orders_sync.pending_orders_add(shop=shop, order_id=order["id"])
    tiktok_sandbox.faults.fail_5xx = 100

    with pytest.raises(ServerError):
        orders_sync.pending_orders_fetch(shop=shop)

    assert list(PendingOrderFetch.objects.values_list("order_id", flat=True)) == [order["id"]]
    assert not Order.objects.exists()

    # and once TikTok is back (and its breaker closed) the next run brings it in
    tiktok_sandbox.faults.fail_5xx = 0
    cache.delete_many(BREAKER_KEYS)
    assert orders_sync.pending_orders_fetch(shop=shop)["created"] == 1
    assert not PendingOrderFetch.objects.exists()


def test_an_order_tiktok_does_not_return_is_retried_then_dropped(tiktok_sandbox, stocked_shop):
    _sb_shop, shop, _skus = stocked_shop
    orders_sync.pending_orders_add(shop=shop, order_id="576000000000000001")

    for attempt in range(1, orders_sync.MAX_FETCH_ATTEMPTS):
        assert orders_sync.pending_orders_fetch(shop=shop)["missing"] == 1
        row = PendingOrderFetch.objects.get()
        assert (row.attempts, row.last_error) == (attempt, "TikTok did not return this order")

    orders_sync.pending_orders_fetch(shop=shop)
    assert not PendingOrderFetch.objects.exists()


def test_a_second_fetch_while_one_runs_returns_at_once(tiktok_sandbox, stocked_shop):
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    order = tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    orders_sync.pending_orders_add(shop=shop, order_id=order["id"])

    with orders_sync.shop_job(shop, "fetch") as held:
        assert held
        assert orders_sync.pending_orders_fetch(shop=shop)["skipped"] is True

    assert PendingOrderFetch.objects.count() == 1
    assert not calls_to(tiktok_sandbox, ORDERS_BY_ID)


def test_announcements_of_one_second_share_one_fetch_sent_through_the_outbox(tiktok_sandbox, stocked_shop):
    # given three orders TikTok announces within the same second
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    placed = [
        tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False) for _ in range(3)
    ]
    while time.time() % 1 > 0.2:  # start early in a second, so the three fit in it
        time.sleep(0.02)
    second = timezone.now().replace(microsecond=0)

    # when each is announced (each in its own transaction, as each webhook is)
    for doc in placed:
        orders_sync.pending_orders_add(shop=shop, order_id=doc["id"], update_time=doc["update_time"])

    # then one fetch message exists for the shop, due when that second ends, and nothing was sent yet
    messages = list(OutboxMessage.objects.filter(task="tiktok.fetch_pending_orders"))
    assert len(messages) == 1
    assert messages[0].kwargs == {"shop_pk": str(shop.pk)} and messages[0].queue == "integrations"
    assert messages[0].next_attempt_at == second + timedelta(seconds=1)
    assert not calls_to(tiktok_sandbox, ORDERS_BY_ID)

    # when it runs (the relay sends it once due), the three orders are fetched in one call and taken in
    OutboxMessage.objects.filter(pk=messages[0].pk).update(next_attempt_at=timezone.now())
    assert outbox_run(message_id=messages[0].pk).outcome == "done"
    assert len(calls_to(tiktok_sandbox, ORDERS_BY_ID)) == 1
    assert set(Order.objects.filter(shop=shop).values_list("tiktok_order_id", flat=True)) == {
        doc["id"] for doc in placed
    }
    assert reserved(lip1) == 3
    assert not PendingOrderFetch.objects.exists()


def test_a_fetch_that_finds_the_shop_busy_runs_again_shortly_instead_of_dropping(
    tiktok_sandbox, stocked_shop
):
    # given an announced order, and another fetch holding the shop
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    doc = tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    orders_sync.pending_orders_add(shop=shop, order_id=doc["id"])
    message = OutboxMessage.objects.get(task="tiktok.fetch_pending_orders")
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())

    # when its fetch runs meanwhile
    with orders_sync.shop_job(shop, "fetch") as held:
        assert held
        result = outbox_run(message_id=message.pk)

    # then it is due again within seconds (the outbox's first backoff), and the row is still there
    message.refresh_from_db()
    assert result.outcome == "failed" and message.status == OutboxMessage.Status.PENDING
    assert timezone.now() < message.next_attempt_at <= timezone.now() + timedelta(seconds=15)
    assert PendingOrderFetch.objects.count() == 1

    # and once the other fetch is done, the retry takes the order in
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_run(message_id=message.pk).outcome == "done"
    assert Order.objects.filter(shop=shop, tiktok_order_id=doc["id"]).exists()


def test_an_announcement_survives_a_broker_that_is_down(
    tiktok_sandbox, stocked_shop, unreachable_broker, django_capture_on_commit_callbacks
):
    _sb_shop, shop, _skus = stocked_shop

    with django_capture_on_commit_callbacks(execute=True):
        orders_sync.pending_orders_add(shop=shop, order_id="576653688135258178")

    assert PendingOrderFetch.objects.filter(shop=shop).count() == 1  # the sweeper re-sends


def test_an_older_state_never_overwrites_a_newer_one(tiktok_sandbox, stocked_shop):
    # given an order that was placed, then cancelled
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    placed = tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    tiktok_sandbox.set_order_status(sb_shop["id"], placed["id"], "CANCELLED", notify=False)

    # when the newer state is fetched first ...
    orders_sync.orders_poll(shop=shop)
    order = Order.objects.get(shop=shop)
    assert (order.tiktok_status, order.status) == ("CANCELLED", "cancelled")

    # ... and then the older document and a late webhook for it arrive
    assert order_upsert_from_tiktok(shop=shop, payload=placed).changed is False
    orders_sync.pending_orders_add(shop=shop, order_id=placed["id"], update_time=placed["update_time"])
    orders_sync.pending_orders_fetch(shop=shop)

    # then the newer state stands and no stock is held for it
    order.refresh_from_db()
    assert (order.tiktok_status, order.status) == ("CANCELLED", "cancelled")
    assert reserved(lip1) == 0


def test_reconciliation_fixes_a_status_we_hold_wrongly_and_reports_it(tiktok_sandbox, stocked_shop):
    # given two orders we hold, one of which TikTok cancelled without telling us
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    kept = tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    gone = tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 2)], notify=False)
    orders_sync.orders_poll(shop=shop)
    assert reserved(lip1) == 3
    tiktok_sandbox.set_order_status(sb_shop["id"], gone["id"], "CANCELLED", notify=False)

    # when reconciliation runs
    run = orders_sync.orders_reconcile(shop=shop)

    # then the difference is fixed, counted and named
    assert (run.kind, run.status, run.checked, run.mismatched, run.fixed) == ("reconcile", "done", 2, 1, 1)
    assert run.details == [
        {"order_id": gone["id"], "ours": "AWAITING_SHIPMENT", "theirs": "CANCELLED", "fixed": True}
    ]
    assert Order.objects.get(tiktok_order_id=gone["id"]).status == "cancelled"
    assert Order.objects.get(tiktok_order_id=kept["id"]).status == "ready"
    assert reserved(lip1) == 1


def test_reconciliation_notes_what_it_cannot_fix_and_what_tiktok_no_longer_has(tiktok_sandbox, stocked_shop):
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    placed = tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    orders_sync.orders_poll(shop=shop)
    # ours claims a newer TikTok state than TikTok's own document: the upsert must not apply it
    Order.objects.filter(tiktok_order_id=placed["id"]).update(
        tiktok_status="IN_TRANSIT", tiktok_update_time=placed["update_time"] + 1000
    )
    # and an order TikTok never heard of
    stray = tiktok_order(order_id="576000000000000099", items=[(lip1.seller_sku, lip1.tiktok_sku_id, 1)])
    order_upsert_from_tiktok(shop=shop, payload=stray)

    run = orders_sync.orders_reconcile(shop=shop)

    assert (run.checked, run.mismatched, run.fixed) == (2, 1, 0)
    by_id = {d["order_id"]: d for d in run.details}
    assert by_id[placed["id"]] == {
        "order_id": placed["id"], "ours": "IN_TRANSIT", "theirs": "AWAITING_SHIPMENT", "fixed": False,
    }  # fmt: skip
    assert by_id["576000000000000099"]["missing"] is True


def test_the_30_day_import_reports_progress_and_sets_the_cursor(tiktok_sandbox, stocked_shop):
    sb_shop, shop, (lip1, lip2) = stocked_shop
    placed = [
        tiktok_sandbox.create_order(sb_shop["id"], [(sku.tiktok_sku_id, 1)], notify=False)
        for sku in (lip1, lip2, lip1, lip2, lip1)
    ]
    run = run_start(shop=shop, kind=SyncRun.Kind.FULL_IMPORT)

    newest = orders_sync.orders_import_recent(shop=shop, run=run, by="create_time")

    run.refresh_from_db()
    assert (run.total, run.done, run.created, run.updated) == (5, 5, 5, 0)
    assert run.percent == 99  # still running: the import finishes the run
    assert newest == max(o["update_time"] for o in placed)
    shop.refresh_from_db()
    assert shop.order_cursor == newest
    assert Order.objects.filter(shop=shop).count() == 5


def test_first_import_runs_catalogue_then_orders_and_reports_the_shop_status(tiktok_sandbox, stocked_shop):
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    run = run_start(shop=shop, kind=SyncRun.Kind.FULL_IMPORT)

    try:
        sync.shop_first_import(shop=shop, run=run)
    except NotImplementedError:
        # the catalogue sync is built separately; until it lands the import fails visibly
        run.refresh_from_db()
        shop.refresh_from_db()
        assert (run.status, shop.status) == ("failed", "error")
        assert shop.status_message.startswith("Sync failed")
        pytest.skip("catalog_sync is not implemented yet: only the failure path was checked")

    run.refresh_from_db()
    shop.refresh_from_db()
    assert (run.status, run.percent, run.created) == ("done", 100, 1)
    assert (shop.status, shop.status_message) == ("connected", "")
    assert shop.order_cursor > 0


def test_resync_brings_in_recent_updates_then_reconciles(tiktok_sandbox, stocked_shop):
    # given an order we hold and one we never saw, then TikTok cancels the first without telling us
    sb_shop, shop, (lip1, _lip2) = stocked_shop
    known = tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    orders_sync.orders_poll(shop=shop)
    unseen = tiktok_sandbox.create_order(sb_shop["id"], [(lip1.tiktok_sku_id, 1)], notify=False)
    tiktok_sandbox.set_order_status(sb_shop["id"], known["id"], "CANCELLED", notify=False)
    run = run_start(shop=shop, kind=SyncRun.Kind.RESYNC)

    try:
        sync.shop_resync_run(shop=shop, run=run)
    except NotImplementedError:
        pytest.skip("catalog_sync is not implemented yet")

    run.refresh_from_db()
    assert (run.status, run.total, run.done, run.created, run.updated) == ("done", 2, 2, 1, 1)
    assert run.checked == 2 and run.mismatched == 0  # the resync already brought both in line
    assert Order.objects.get(tiktok_order_id=known["id"]).status == "cancelled"
    assert Order.objects.get(tiktok_order_id=unseen["id"]).status == "ready"
    assert SyncRun.objects.filter(shop=shop, kind=SyncRun.Kind.RECONCILE, status="done").count() == 1
    assert Shop.objects.get(pk=shop.pk).status == "connected"
