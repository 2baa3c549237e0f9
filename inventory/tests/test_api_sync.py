"""POST /api/inventory/products/{id}/sync: 503 until a channel is connected, then the channel's count.

The channel here is a small adapter standing in for TikTok Shop (the real one lives in `tiktok`
and registers itself the same way); it answers from a dict, as the shop's API would.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models import Sum

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from inventory import channel
from inventory.channel import ChannelCount, register_channel
from inventory.models import SKU, InventoryTransaction, StockLevel, SyncStatus
from inventory.tests.factories import WarehouseFactory, stocked_sku

pytestmark = pytest.mark.django_db


class ShopStandIn:
    """Counts per SKU id and warehouse key, as a connected shop would report them."""

    name = "stand-in"

    def __init__(self, counts: dict[str, dict[str, int]] | None = None, *, failing: bool = False):
        self.counts = counts or {}
        self.failing = failing
        self.changed: list[str] = []

    def fetch_stock(self, *, sku) -> ChannelCount:
        if self.failing:
            raise ConnectionError("shop API timed out")
        return ChannelCount(
            sku_id=str(sku.pk),
            quantities=dict(self.counts.get(str(sku.pk), {})),
            fetched_at=datetime.now(UTC),
        )

    def stock_changed(self, *, sku_ids: list[str]) -> None:
        self.changed.extend(sku_ids)


@pytest.fixture
def no_channel():
    previous = channel._adapter
    register_channel(None)
    yield
    register_channel(previous)


@pytest.fixture
def shop(no_channel):
    adapter = ShopStandIn()
    register_channel(adapter)
    return adapter


@pytest.fixture
def owner():
    return MembershipFactory(role=Role.OWNER)


def _sync(client, sku):
    return client.post(f"/api/inventory/products/{sku.pk}/sync")


def test_without_a_connected_channel_sync_is_a_503(owner, no_channel):
    sku = stocked_sku(account=owner.account, on_hand=5)
    response = _sync(client_for(owner, api=True), sku)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "channel_unavailable"


def test_sync_takes_the_channels_counts_per_warehouse(owner, shop, django_capture_on_commit_callbacks):
    # given our count 5 in the default warehouse, and a second warehouse known to TikTok by its id
    sku = stocked_sku(account=owner.account, on_hand=5)
    default = StockLevel.objects.get(sku=sku).warehouse
    second = WarehouseFactory(account=owner.account, tiktok_warehouse_id="7301")
    shop.counts[str(sku.pk)] = {str(default.pk): 12, "7301": 4, "unknown-wh": 99}

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = _sync(client_for(owner, api=True), sku)

    # then: on_hand follows the channel; the unknown warehouse is ignored
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "current_stock", "last_sync"}
    assert body["success"] is True and body["current_stock"] == 16
    sku.refresh_from_db()
    assert sku.inventory_sync_status == SyncStatus.SYNCED and sku.last_inventory_sync is not None
    assert datetime.fromisoformat(body["last_sync"].replace("Z", "+00:00")) == sku.last_inventory_sync
    assert StockLevel.objects.get(sku=sku, warehouse=second).on_hand == 4
    entries = InventoryTransaction.objects.filter(sku=sku, reason="channel_sync")
    assert sorted(entries.values_list("quantity", flat=True)) == [4, 7]
    assert StockLevel.objects.filter(sku=sku).aggregate(t=Sum("on_hand"))["t"] == 16


def test_a_failing_channel_is_a_json_error_and_marks_the_sku(owner, shop):
    shop.failing = True
    sku = stocked_sku(account=owner.account, on_hand=5)
    response = _sync(client_for(owner, api=True), sku)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "channel_error"
    assert SKU.objects.get(pk=sku.pk).inventory_sync_status == SyncStatus.FAILED


def test_viewer_may_not_sync(owner, shop):
    viewer = MembershipFactory(account=owner.account, role=Role.VIEWER)
    sku = stocked_sku(account=owner.account, on_hand=5)
    response = _sync(client_for(viewer, api=True), sku)
    assert response.status_code == 403


def test_another_accounts_sku_is_a_404(owner, shop):
    sku = stocked_sku(account=owner.account, on_hand=5)
    assert_other_account_gets_404(
        f"/api/inventory/products/{sku.pk}/sync", owner=owner, method="post", api=True
    )
