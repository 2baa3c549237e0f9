import pytest

from accounts.tests.factories import UserFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.core.errors import Conflict
from inventory.models import Reservation, StockLevel
from inventory.tests.factories import stocked_sku
from orders.models import OrderEvent, OrderStatus
from orders.services.actions import (
    order_approve,
    order_cancel,
    order_hold,
    order_resolve_backorder,
    order_retry_reservation,
    order_set_tags,
    orders_bulk,
)
from orders.services.intake import order_upsert_from_tiktok
from orders.services.lifecycle import InvalidTransition
from orders.tests.factories import OrderFactory
from orders.tests.tiktok_docs import tiktok_order
from tiktok.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory()


@pytest.fixture
def user():
    return UserFactory()


def _sku(shop, n=1, on_hand=10):
    return stocked_sku(
        account=shop.account, on_hand=on_hand, tiktok_sku_id=f"17000{n}", seller_sku=f"LIP-{n}"
    )


def _order(shop, items=(("170001", "LIP-1", 1),), **kw):
    return order_upsert_from_tiktok(shop=shop, payload=tiktok_order(items=list(items), **kw)).order


def _reserved(sku):
    return StockLevel.objects.get(sku=sku).reserved


def test_hold_then_approve_makes_it_ready_and_counts_the_human(shop, user):
    # given a ready order
    _sku(shop)
    order = _order(shop)

    # when a person holds it, then approves it
    order_hold(order=order, actor=user, reason="Check the address")
    assert order.status == OrderStatus.HELD and order.hold_reason == "Check the address"
    order_approve(order=order, actor=user)

    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.READY and order.hold_reason == "" and order.touched_by_human
    assert AuditLogEntry.objects.filter(action__in=["order.hold", "order.approve"], actor=user).count() == 2
    assert OrderEvent.objects.filter(order=order, type="status", actor=user).count() == 2


def test_approving_an_order_on_hold_at_tiktok_keeps_it_reserved(shop, user):
    _sku(shop)
    order = _order(shop, status="ON_HOLD")
    order_hold(order=order, actor=user, reason="look")
    order_approve(order=order, actor=user)
    assert order.status == OrderStatus.RESERVED


def test_approve_refuses_an_order_without_reserved_stock(shop, user):
    order = _order(shop, items=[("555", "GHOST", 1)])
    assert order.status == OrderStatus.NEEDS_ATTENTION
    with pytest.raises(Conflict) as exc:
        order_approve(order=order, actor=user)
    assert exc.value.code == "not_reserved"


def test_cancel_releases_stock_and_is_idempotent(shop, user):
    # given a ready order holding 2 units
    sku = _sku(shop)
    order = _order(shop, items=[("170001", "LIP-1", 2)])
    assert _reserved(sku) == 2

    # when cancelled twice
    order_cancel(order=order, actor=user, reason="Buyer asked")
    order_cancel(order=order, actor=user)

    # then
    assert order.status == OrderStatus.CANCELLED and _reserved(sku) == 0
    assert OrderEvent.objects.filter(order=order, to_status="cancelled").count() == 1
    with pytest.raises(InvalidTransition):
        order_hold(order=order, actor=user, reason="too late")


def test_a_shipped_order_cannot_be_cancelled(user):
    order = OrderFactory(status=OrderStatus.SHIPPED)
    with pytest.raises(InvalidTransition):
        order_cancel(order=order, actor=user)


def test_set_tags_trims_and_deduplicates(shop, user):
    order = OrderFactory()
    order_set_tags(order=order, tags=[" vip ", "vip", "gift", ""], actor=user)
    order.refresh_from_db()
    assert order.tags == ["vip", "gift"] and order.touched_by_human
    assert OrderEvent.objects.filter(order=order, type="tag").count() == 1


def test_backorder_wait_stays_short_then_retry_reserves_when_stock_arrives(shop, user):
    # given a backordered order (2 wanted, 1 on hand)
    sku = _sku(shop, on_hand=1)
    order = _order(shop, items=[("170001", "LIP-1", 2)])
    assert order.status == OrderStatus.BACKORDERED

    # when the person chooses to wait: still short
    order_resolve_backorder(order=order, option="wait", actor=user)
    assert order.status == OrderStatus.BACKORDERED and _reserved(sku) == 0

    # when stock arrives and the beat retries
    StockLevel.objects.filter(sku=sku).update(on_hand=5)
    order_retry_reservation(order=order)

    # then
    assert order.status == OrderStatus.READY and _reserved(sku) == 2
    assert order.attention_reason == "" and order.backorder_options == []


def test_backorder_ship_partial_reserves_what_is_there(shop, user):
    # given 1 of the 3 wanted A, and B in stock
    a, b = _sku(shop, 1, on_hand=1), _sku(shop, 2)
    order = _order(shop, items=[("170001", "LIP-1", 3), ("170002", "LIP-2", 1)])

    # when
    order_resolve_backorder(order=order, option="ship_partial", actor=user)

    # then
    assert order.status == OrderStatus.READY and "partial" in order.tags
    assert _reserved(a) == 1 and _reserved(b) == 1
    event = OrderEvent.objects.get(order=order, type="backorder")
    assert event.data == {"unreserved": {"LIP-1": 2}}


def test_backorder_substitute_swaps_the_short_sku(shop, user):
    # given A is short and C is a substitute in stock
    _sku(shop, 1, on_hand=0)
    c = _sku(shop, 3)
    order = _order(shop, items=[("170001", "LIP-1", 2)])

    # when
    order_resolve_backorder(order=order, option="substitute", actor=user, substitute_sku=c)

    # then
    assert order.status == OrderStatus.READY and _reserved(c) == 2
    assert order.items.get().sku_id == c.pk


def test_backorder_cancel(shop, user):
    _sku(shop, 1, on_hand=0)
    order = _order(shop)
    order = order_resolve_backorder(order=order, option="cancel", actor=user)
    assert order.status == OrderStatus.CANCELLED


def test_bulk_acts_on_each_order_and_reports_failures(shop, user):
    # given two ready orders and one shipped
    _sku(shop)
    ready = [_order(shop), _order(shop)]
    shipped = OrderFactory(shop=shop, status=OrderStatus.SHIPPED)

    # when
    result = orders_bulk(orders=[*ready, shipped], action="cancel", actor=user, reason="bulk")

    # then
    assert result["done"] == [str(o.pk) for o in ready]
    assert len(result["failed"]) == 1 and result["failed"][0].startswith(f"{shipped.pk}: ")
    assert Reservation.objects.filter(status=Reservation.Status.ACTIVE).count() == 0


def test_bulk_hold_then_approve(shop, user):
    _sku(shop)
    orders = [_order(shop), _order(shop)]
    assert orders_bulk(orders=orders, action="hold", actor=user, reason="review")["failed"] == []
    assert orders_bulk(orders=orders, action="approve", actor=user)["failed"] == []
    assert {o.status for o in orders} == {OrderStatus.READY}
