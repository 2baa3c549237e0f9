import pytest

from inventory.models import Reservation, StockLevel
from inventory.tests.factories import stocked_sku
from orders.models import Order, OrderEvent, OrderStatus
from orders.services.intake import order_upsert_from_tiktok
from orders.services.routing import BACKORDER_OPTIONS
from orders.tests.tiktok_docs import tiktok_order
from tiktok.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory()


def _sku(shop, n=1, on_hand=10):
    return stocked_sku(
        account=shop.account, on_hand=on_hand, tiktok_sku_id=f"17000{n}", seller_sku=f"LIP-{n}"
    )


def _active(order):
    return {
        r.sku_id: r.quantity
        for r in Reservation.objects.filter(order_ref=order.reservation_ref, status=Reservation.Status.ACTIVE)
    }


def test_a_paid_order_with_stock_is_reserved_and_ready(shop):
    # given two SKUs in stock
    a, b = _sku(shop, 1), _sku(shop, 2)

    # when an order for 2 × A and 1 × B comes in
    result = order_upsert_from_tiktok(
        shop=shop, payload=tiktok_order(items=[("170001", "LIP-1", 2), ("170002", "LIP-2", 1)])
    )

    # then
    order = result.order
    assert result.created and result.changed
    assert order.status == OrderStatus.READY
    assert _active(order) == {a.pk: 2, b.pk: 1}
    assert [e.to_status for e in OrderEvent.objects.filter(order=order, type="status")] == [
        "received", "reserved", "ready",
    ]  # fmt: skip
    items = {i.sku_id: i for i in order.items.all()}
    assert items[a.pk].quantity == 2 and len(items[a.pk].line_item_ids) == 2


def test_skus_match_by_seller_sku_when_the_tiktok_id_is_unknown(shop):
    sku = stocked_sku(account=shop.account, on_hand=5, seller_sku="LIP-9")
    result = order_upsert_from_tiktok(shop=shop, payload=tiktok_order(items=[("999", "LIP-9", 1)]))
    assert result.order.status == OrderStatus.READY and _active(result.order) == {sku.pk: 1}


def test_skus_of_another_account_are_not_matched(shop):
    stocked_sku(on_hand=5, seller_sku="LIP-7", tiktok_sku_id="170007")  # another account
    result = order_upsert_from_tiktok(shop=shop, payload=tiktok_order(items=[("170007", "LIP-7", 1)]))
    assert result.order.status == OrderStatus.NEEDS_ATTENTION


def test_unknown_skus_need_attention_naming_them_and_reserve_nothing(shop):
    # given one known SKU
    _sku(shop, 1)

    # when the order also names two we do not know
    payload = tiktok_order(items=[("170001", "LIP-1", 1), ("555", "GHOST-1", 1), ("556", "GHOST-2", 2)])
    order = order_upsert_from_tiktok(shop=shop, payload=payload).order

    # then
    assert order.status == OrderStatus.NEEDS_ATTENTION
    assert "GHOST-1" in order.attention_reason and "GHOST-2" in order.attention_reason
    assert _active(order) == {}


def test_a_short_order_is_backordered_with_options_and_never_dropped(shop):
    # given 1 unit of A, plenty of B
    _sku(shop, 1, on_hand=1)
    b = _sku(shop, 2)

    # when 3 × A and 1 × B are ordered
    order = order_upsert_from_tiktok(
        shop=shop, payload=tiktok_order(items=[("170001", "LIP-1", 3), ("170002", "LIP-2", 1)])
    ).order

    # then nothing is reserved (all or nothing) and the short line is named
    assert order.status == OrderStatus.BACKORDERED
    assert order.backorder_options == BACKORDER_OPTIONS == ["wait", "ship_partial", "substitute", "cancel"]
    assert "LIP-1 (1 available, 3 requested)" in order.attention_reason
    assert _active(order) == {}
    assert StockLevel.objects.get(sku=b).reserved == 0


def test_unpaid_reserves_nothing_until_paid(shop):
    # given an unpaid order
    sku = _sku(shop, 1)
    doc = tiktok_order(status="UNPAID", items=[("170001", "LIP-1", 2)], update_time=1000)
    order = order_upsert_from_tiktok(shop=shop, payload=doc).order
    assert order.status == OrderStatus.RECEIVED and _active(order) == {}

    # when TikTok says it is paid
    paid = dict(doc, status="AWAITING_SHIPMENT", update_time=1001)
    result = order_upsert_from_tiktok(shop=shop, payload=paid)

    # then
    assert result.changed and not result.created
    assert result.order.status == OrderStatus.READY
    assert _active(result.order) == {sku.pk: 2}


def test_on_hold_is_reserved_but_not_ready_until_released(shop):
    # given an ON_HOLD order
    sku = _sku(shop, 1)
    doc = tiktok_order(status="ON_HOLD", items=[("170001", "LIP-1", 1)], update_time=1000)
    order = order_upsert_from_tiktok(shop=shop, payload=doc).order
    assert order.status == OrderStatus.RESERVED and _active(order) == {sku.pk: 1}

    # when TikTok releases it
    released = tiktok_order(order_id=doc["id"], status="AWAITING_SHIPMENT", items=[("170001", "LIP-1", 1)],
                            update_time=1001)  # fmt: skip
    order = order_upsert_from_tiktok(shop=shop, payload=released).order

    # then
    assert order.status == OrderStatus.READY and not order.is_on_hold
    assert order.recipient_name == "Jamie Rivera" and order.postal_code == "94103"


@pytest.mark.parametrize("word", ["CANCELLED", "CANCEL"])
def test_tiktok_cancellation_releases_the_stock(shop, word):
    # given a ready order holding 2 units
    sku = _sku(shop, 1, on_hand=5)
    doc = tiktok_order(items=[("170001", "LIP-1", 2)], update_time=1000)
    order = order_upsert_from_tiktok(shop=shop, payload=doc).order
    assert StockLevel.objects.get(sku=sku).reserved == 2

    # when TikTok cancels it
    order = order_upsert_from_tiktok(shop=shop, payload=dict(doc, status=word, update_time=1001)).order

    # then
    assert order.status == OrderStatus.CANCELLED
    assert StockLevel.objects.get(sku=sku).reserved == 0
    assert _active(order) == {}


def test_an_older_or_equal_update_changes_nothing(shop):
    # given an order last updated at 2000
    _sku(shop, 1)
    doc = tiktok_order(items=[("170001", "LIP-1", 1)], update_time=2000)
    order = order_upsert_from_tiktok(shop=shop, payload=doc).order
    events = OrderEvent.objects.filter(order=order).count()

    # when an older cancel and an equal one arrive
    older = order_upsert_from_tiktok(shop=shop, payload=dict(doc, status="CANCELLED", update_time=1999))
    equal = order_upsert_from_tiktok(shop=shop, payload=dict(doc, buyer_message="hi", update_time=2000))

    # then
    assert not older.changed and not equal.changed
    order.refresh_from_db()
    assert (
        order.status == OrderStatus.READY and order.tiktok_update_time == 2000 and order.buyer_message == ""
    )
    assert OrderEvent.objects.filter(order=order).count() == events


def test_the_same_document_twice_is_one_order(shop):
    _sku(shop, 1)
    doc = tiktok_order(items=[("170001", "LIP-1", 1)])
    first = order_upsert_from_tiktok(shop=shop, payload=doc)
    second = order_upsert_from_tiktok(shop=shop, payload=doc)
    assert first.created and not second.created and not second.changed
    assert Order.objects.count() == 1 and Reservation.objects.count() == 1


def test_shipping_statuses_follow_when_allowed_and_are_recorded_when_not(shop):
    # given a ready order
    _sku(shop, 1)
    doc = tiktok_order(items=[("170001", "LIP-1", 1)], update_time=1000)
    order_upsert_from_tiktok(shop=shop, payload=doc)

    # when TikTok says it is in transit, then (late) awaiting collection
    order = order_upsert_from_tiktok(
        shop=shop, payload=dict(doc, status="IN_TRANSIT", update_time=1001)
    ).order
    assert order.status == OrderStatus.READY  # ready -/-> in_transit
    assert OrderEvent.objects.filter(order=order, type="tiktok_update", message__contains="stays").exists()
    order = order_upsert_from_tiktok(
        shop=shop, payload=dict(doc, status="AWAITING_COLLECTION", update_time=1002)
    ).order
    assert order.status == OrderStatus.SHIPPED
    order = order_upsert_from_tiktok(shop=shop, payload=dict(doc, status="DELIVERED", update_time=1003)).order
    assert order.status == OrderStatus.DELIVERED

    # then a late cancel is recorded, not applied
    order = order_upsert_from_tiktok(shop=shop, payload=dict(doc, status="CANCELLED", update_time=1004)).order
    assert order.status == OrderStatus.DELIVERED
