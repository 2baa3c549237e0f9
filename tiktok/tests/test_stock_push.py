"""Stock out to TikTok: the channel adapter, the debounce and the per-product push, via the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from creatorflow.outbox.models import OutboxMessage
from creatorflow.outbox.services import outbox_run
from inventory.models import SKU, StockAlert, SyncStatus, Warehouse
from inventory.services.stock import ReservationLine, stock_reserve
from inventory.tests.factories import WarehouseFactory, stocked_sku
from notifications.models import Notification
from tiktok import tasks as _tasks  # noqa: F401 - registers the push task the outbox runs
from tiktok.models import PendingStockPush, Shop
from tiktok.services.catalog import catalog_sync
from tiktok.services.stock_push import DEBOUNCE_SECONDS, stock_changed, stock_push_due
from tiktok.tests.connected import connect_sandbox_shop

pytestmark = pytest.mark.django_db

UPDATE = "/product/202309/products/{product_id}/inventory/update"


@pytest.fixture
def owner():
    return MembershipFactory(role=Role.OWNER)


@pytest.fixture
def listed(tiktok_sandbox, owner, django_capture_on_commit_callbacks):
    """A shop with one product of three SKUs (stock in both TikTok warehouses), imported."""
    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox, account=owner.account)
    WarehouseFactory(account=shop.account, is_default=True, code="LA1")
    wh1, wh2 = sb_shop["warehouse_ids"]
    doc = tiktok_sandbox.add_product(
        sb_shop["id"],
        title="Cloud Lip Oil",
        skus=[{"seller_sku": f"CLO-{n}", "inventory": {wh1: 20, wh2: 5}} for n in range(3)],
    )
    with django_capture_on_commit_callbacks(execute=True):
        catalog_sync(shop=shop, full=True)
    skus = list(SKU.objects.filter(account=shop.account).order_by("seller_sku"))
    return tiktok_sandbox, shop, doc, skus, (wh1, wh2)


def _later():
    return timezone.now() + timedelta(seconds=DEBOUNCE_SECONDS + 1)


def _reserve(sku, n, ref, capture):
    with capture(execute=True):
        stock_reserve(account=sku.account, order_ref=ref, lines=[ReservationLine(sku_id=sku.pk, quantity=n)])


def _updates(sandbox):
    return [c for c in sandbox.calls if c.template == UPDATE]


def test_a_reservation_is_pushed_to_every_warehouse(listed, django_capture_on_commit_callbacks):
    sandbox, _shop, _doc, skus, (wh1, wh2) = listed
    sku = skus[0]

    _reserve(sku, 3, "order:1", django_capture_on_commit_callbacks)

    pending = PendingStockPush.objects.get()
    assert pending.sku_id == sku.pk and pending.due_at > timezone.now()
    assert SKU.objects.get(pk=sku.pk).inventory_sync_status == SyncStatus.PENDING
    assert stock_push_due() == {"products": 0, "skus": 0, "failed": 0}  # not due yet: the debounce

    assert stock_push_due(now=_later()) == {"products": 1, "skus": 1, "failed": 0}

    assert sandbox.sku_inventory(sku.tiktok_sku_id) == {wh1: 17, wh2: 5}
    assert not PendingStockPush.objects.exists()
    sku.refresh_from_db()
    assert sku.inventory_sync_status == SyncStatus.SYNCED and sku.last_inventory_sync is not None


def test_twenty_changes_to_three_skus_are_one_call(listed, django_capture_on_commit_callbacks):
    sandbox, _shop, _doc, skus, (wh1, wh2) = listed
    first_due = None
    for n in range(20):
        _reserve(skus[n % 3], 1, f"order:{n}", django_capture_on_commit_callbacks)
        if n == 0:
            first_due = PendingStockPush.objects.get().due_at
    assert PendingStockPush.objects.count() == 3
    # the first SKU's row kept its first due time however many changes followed
    assert PendingStockPush.objects.get(sku=skus[0]).due_at == first_due
    sandbox.clear_calls()

    assert stock_push_due(now=_later()) == {"products": 1, "skus": 3, "failed": 0}

    assert len(_updates(sandbox)) == 1
    held = {0: 7, 1: 7, 2: 6}
    for index, sku in enumerate(skus):
        assert sandbox.sku_inventory(sku.tiktok_sku_id) == {wh1: 20 - held[index], wh2: 5}


def test_a_burst_of_changes_is_one_outbox_message_that_pushes_once_due(
    listed, django_capture_on_commit_callbacks
):
    # given a burst of reservations on the listed SKUs
    sandbox, _shop, _doc, skus, (wh1, _wh2) = listed
    sandbox.clear_calls()
    for n in range(6):
        _reserve(skus[n % 3], 1, f"order:burst-{n}", django_capture_on_commit_callbacks)

    # then the push is an outbox message (not a broker message sent from the caller), one for the
    # burst, due once the debounce is over; TikTok has not been called yet
    messages = list(OutboxMessage.objects.filter(task="tiktok.push_stock"))
    assert len(messages) == 1
    assert messages[0].next_attempt_at >= PendingStockPush.objects.order_by("due_at").first().due_at
    assert _updates(sandbox) == []

    # when it runs once due (the debounce over), TikTok gets one update with the new figures
    PendingStockPush.objects.update(due_at=timezone.now())
    OutboxMessage.objects.filter(pk=messages[0].pk).update(next_attempt_at=timezone.now())
    assert outbox_run(message_id=messages[0].pk).outcome == "done"
    assert len(_updates(sandbox)) == 1
    assert sandbox.sku_inventory(skus[0].tiktok_sku_id)[wh1] == 18
    assert not PendingStockPush.objects.exists()


def _drop_sku_in_sandbox(sandbox, product_id, sku_id):
    with sandbox.state.lock:
        sandbox.state.products[product_id].sku_ids.remove(sku_id)
        del sandbox.state.skus[sku_id]


def test_a_sku_tiktok_rejects_fails_alone(listed):
    sandbox, _shop, doc, skus, (wh1, _wh2) = listed
    gone, kept = skus[0], skus[1]
    _drop_sku_in_sandbox(sandbox, doc["id"], gone.tiktok_sku_id)
    stock_changed(sku_ids=[gone.pk, kept.pk])

    assert stock_push_due(now=_later()) == {"products": 1, "skus": 2, "failed": 1}

    gone.refresh_from_db()
    kept.refresh_from_db()
    assert (gone.inventory_sync_status, gone.sync_failures) == (SyncStatus.FAILED, 1)
    assert (kept.inventory_sync_status, kept.sync_failures) == (SyncStatus.SYNCED, 0)
    assert sandbox.sku_inventory(kept.tiktok_sku_id)[wh1] == 20


def test_three_failed_pushes_raise_the_sync_failure_alert(listed, owner):
    sandbox, _shop, doc, skus, _whs = listed
    gone = skus[0]
    _drop_sku_in_sandbox(sandbox, doc["id"], gone.tiktok_sku_id)
    for attempt in range(3):
        assert not StockAlert.objects.filter(kind=StockAlert.Kind.SYNC_FAILURE).exists()
        stock_changed(sku_ids=[gone.pk])
        assert stock_push_due(now=_later())["failed"] == 1, attempt

    alert = StockAlert.objects.get(sku=gone, kind=StockAlert.Kind.SYNC_FAILURE, status=StockAlert.Status.OPEN)
    assert "3 failed" in alert.message
    assert Notification.objects.filter(account=owner.account, kind="inventory.sync_failure").count() == 1


def test_a_failed_call_fails_the_product_and_requeues_it_for_later(listed):
    sandbox, _shop, doc, skus, _whs = listed
    with sandbox.state.lock:  # TikTok no longer knows the product: the whole call is refused
        del sandbox.state.products[doc["id"]]
    stock_changed(sku_ids=[s.pk for s in skus])
    now = _later()

    assert stock_push_due(now=now) == {"products": 1, "skus": 3, "failed": 3}

    assert PendingStockPush.objects.count() == 3
    assert all(p.due_at >= now + timedelta(seconds=20) for p in PendingStockPush.objects.all())
    assert set(SKU.objects.filter(pk__in=[s.pk for s in skus]).values_list("sync_failures", flat=True)) == {1}


def test_stock_changed_ignores_skus_tiktok_does_not_list(listed):
    _sandbox, shop, _doc, skus, _whs = listed
    ours_only = stocked_sku(account=shop.account, on_hand=4)
    assert stock_changed(sku_ids=[ours_only.pk]) == 0
    Shop.objects.filter(pk=shop.pk).update(status=Shop.Status.DISCONNECTED)
    assert stock_changed(sku_ids=[skus[0].pk]) == 0
    assert not PendingStockPush.objects.exists()


def test_inventory_sync_api_reads_tiktok_through_the_adapter(
    listed, owner, django_capture_on_commit_callbacks
):
    sandbox, shop, _doc, skus, (wh1, wh2) = listed
    sku = skus[0]
    with sandbox.state.lock:  # counted on TikTok's side meanwhile
        sandbox.state.skus[sku.tiktok_sku_id].inventory[wh1] = 12
    client = client_for(owner, api=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/inventory/products/{sku.pk}/sync")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["current_stock"] == 17
    assert Warehouse.objects.get(account=shop.account, tiktok_warehouse_id=wh2)

    unlisted = stocked_sku(account=shop.account, on_hand=3)
    response = client.post(f"/api/inventory/products/{unlisted.pk}/sync")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "channel_unavailable"


def test_inventory_sync_of_another_accounts_sku_is_a_404(listed, owner):
    _sandbox, _shop, _doc, skus, _whs = listed
    assert_other_account_gets_404(
        f"/api/inventory/products/{skus[0].pk}/sync", owner=owner, method="post", api=True
    )
