"""Handing the label to TikTok: the stock leaves the ledger (the OUT row) only once TikTok has accepted
the package, in the transaction that records it. TikTok refusing for good parks the order with the
stock still reserved (nothing left the ledger); a passing TikTok failure is raised for the outbox to
retry; once a person fixes the cause, approving the order hands the same label over again.

Against the TikTok sandbox through our real client; the carrier is the built-in sandbox carrier.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from inventory.models import InventoryTransaction, Reservation, StockLevel, TransactionType
from inventory.tests.factories import WarehouseFactory, stocked_sku
from orders.facade import order_approve
from orders.models import Order, OrderStatus
from shipping.models import CarrierAccount, SandboxParcel, Shipment, ShipmentStatus
from shipping.services.fulfil import shipment_complete
from shipping.services.purchase import shipment_purchase
from tiktok.services import orders as orders_sync
from tiktok.tests.connected import connect_sandbox_shop
from tiktok.wire import ServerError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_breakers():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def bought(tiktok_sandbox):
    """A sandbox order taken in by the poll, its stock reserved (2 of 10), and its label bought."""
    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    product = tiktok_sandbox.add_product(sb_shop["id"], title="Lip Oil", skus=[{"seller_sku": "LIP-1"}])
    sku_id = product["skus"][0]["id"]
    warehouse = WarehouseFactory(account=shop.account, is_default=True, postal_code="90012", state="CA")
    sku = stocked_sku(
        account=shop.account, on_hand=10, tiktok_sku_id=sku_id, seller_sku="LIP-1", warehouse=warehouse
    )
    CarrierAccount.objects.create(account=shop.account, provider="sandbox", name="Sandbox carrier")
    placed = tiktok_sandbox.create_order(sb_shop["id"], [(sku_id, 2)], notify=False)
    orders_sync.orders_poll(shop=shop)
    order = Order.objects.get(tiktok_order_id=placed["id"])
    result = shipment_purchase(order_id=order.pk)
    assert result.ok
    order.refresh_from_db()
    assert order.status == OrderStatus.LABEL_PURCHASED
    return order, sku, Shipment.objects.get(pk=result.shipment_id)


def _outs(order):
    return InventoryTransaction.objects.filter(type=TransactionType.OUT, reference=order.reservation_ref)


def _level(sku):
    level = StockLevel.objects.get(sku=sku)
    return level.on_hand, level.reserved


def test_the_stock_leaves_only_when_tiktok_accepted_the_package(tiktok_sandbox, bought):
    # given a bought label, and TikTok failing for a moment
    order, sku, shipment = bought
    tiktok_sandbox.faults.fail_5xx = 100

    # when the hand-over runs: it raises for the outbox to retry, and nothing left the ledger
    with pytest.raises(ServerError):
        shipment_complete(shipment_id=shipment.pk)
    assert not _outs(order).exists()
    assert _level(sku) == (10, 2)
    order.refresh_from_db()
    assert order.status == OrderStatus.LABEL_PURCHASED

    # when TikTok is back and the retry runs
    tiktok_sandbox.faults.fail_5xx = 0
    assert shipment_complete(shipment_id=shipment.pk) == "shipped"

    # then TikTok has the package, the stock left once (one OUT of 2), and the order is shipped
    assert tiktok_sandbox.get_order(order.tiktok_order_id)["status"] == "AWAITING_COLLECTION"
    [out] = _outs(order)
    assert (out.quantity, out.previous_level, out.new_level) == (-2, 10, 8)
    assert _level(sku) == (8, 0)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.SHIPPED
    # and a repeated delivery of the step changes nothing
    assert shipment_complete(shipment_id=shipment.pk) == "nothing to do"
    assert _outs(order).count() == 1


def test_tiktok_refusing_for_good_parks_the_order_with_the_stock_still_reserved(tiktok_sandbox, bought):
    # given a bought label for an order whose delivery option TikTok does not know
    order, sku, shipment = bought
    Order.objects.filter(pk=order.pk).update(delivery_option_id="7000000000000000000")

    # when the hand-over runs
    outcome = shipment_complete(shipment_id=shipment.pk)

    # then the order waits for a person with TikTok's reason, and no stock left the ledger
    assert outcome.startswith("needs attention")
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_ATTENTION
    assert "TikTok" in order.attention_reason
    assert not _outs(order).exists()
    assert _level(sku) == (10, 2)
    assert Reservation.objects.get(order_ref=order.reservation_ref).status == Reservation.Status.ACTIVE
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.PURCHASED


def test_approving_a_refused_order_hands_the_same_label_over_again(
    tiktok_sandbox, bought, celery_eager, django_capture_on_commit_callbacks
):
    # given an order TikTok refused (unknown delivery option), which a person then fixes
    order, sku, shipment = bought
    real_option = order.delivery_option_id
    Order.objects.filter(pk=order.pk).update(delivery_option_id="7000000000000000000")
    shipment_complete(shipment_id=shipment.pk)
    Order.objects.filter(pk=order.pk).update(delivery_option_id=real_option)
    order.refresh_from_db()
    from accounts.tests.factories import MembershipFactory

    person = MembershipFactory(account=order.account, role="owner").user

    # when they approve it (ready -> the pipeline buys, finds the label bought, hands it over)
    with django_capture_on_commit_callbacks(execute=True):
        order_approve(order=order, actor=person)

    # then the same label went to TikTok, the stock left once, and no second label was bought
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert SandboxParcel.objects.count() == 1
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.SHIPPED
    assert _outs(order).count() == 1 and _level(sku) == (8, 0)
