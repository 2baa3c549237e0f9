"""Intake of a new order: one pass, few round trips, and the same timeline as the slow path."""

import pytest

from accounts.tests.factories import AccountFactory
from inventory.tests.factories import stocked_sku
from orders.models import Order, OrderEvent, OrderStatus
from orders.services.intake import order_upsert_from_tiktok
from orders.services.lifecycle import InvalidTransition, batched_events, order_transition
from orders.tests.tiktok_docs import tiktok_order
from tiktok.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_with_stock():
    account = AccountFactory()
    shop = ShopFactory(account=account)
    skus = [stocked_sku(account=account, on_hand=50, tiktok_sku_id=f"1729{i:06d}") for i in range(3)]
    return shop, skus


def test_a_new_order_is_taken_in_within_a_query_budget_with_its_whole_timeline(
    shop_with_stock, django_assert_max_num_queries
):
    # given: a three-SKU order
    shop, skus = shop_with_stock
    doc = tiktok_order(items=[(s.tiktok_sku_id, s.seller_sku, 1) for s in skus])

    # when
    with django_assert_max_num_queries(20):
        result = order_upsert_from_tiktok(shop=shop, payload=doc)

    # then: ready, its status stored once with the priority, and the timeline complete and in order
    order = Order.objects.get(pk=result.order.pk)
    assert order.status == OrderStatus.READY and order.priority_reasons
    steps = list(
        OrderEvent.objects.filter(order=order, type="status").values_list("from_status", "to_status")
    )
    assert steps == [("", "received"), ("received", "reserved"), ("reserved", "ready")]


def test_a_locked_transition_still_obeys_the_table_and_writes_only_when_asked(shop_with_stock):
    # given: a ready order
    shop, skus = shop_with_stock
    order = order_upsert_from_tiktok(
        shop=shop, payload=tiktok_order(items=[(skus[0].tiktok_sku_id, skus[0].seller_sku, 1)])
    ).order

    # then: a move the table forbids is refused, locked or not
    with pytest.raises(InvalidTransition):
        order_transition(order=order, to=OrderStatus.DELIVERED, actor="test", locked=True)

    # when: an allowed move is made without writing
    order_transition(order=order, to=OrderStatus.HELD, actor="test", reason="check", locked=True, write=False)

    # then: the instance moved, the row waits for the caller's save, the event is there
    assert order.status == OrderStatus.HELD
    assert Order.objects.get(pk=order.pk).status == OrderStatus.READY
    assert OrderEvent.objects.filter(order=order, to_status="held").exists()
    with pytest.raises(ValueError):
        order_transition(order=order, to=OrderStatus.READY, actor="test", write=False)


def test_batched_events_are_written_together_and_not_at_all_on_error(shop_with_stock):
    shop, skus = shop_with_stock
    order = order_upsert_from_tiktok(
        shop=shop, payload=tiktok_order(items=[(skus[0].tiktok_sku_id, skus[0].seller_sku, 1)])
    ).order
    before = OrderEvent.objects.filter(order=order).count()

    with pytest.raises(RuntimeError), batched_events():
        order_transition(order=order, to=OrderStatus.HELD, actor="test", locked=True)
        assert OrderEvent.objects.filter(order=order).count() == before  # not yet written
        raise RuntimeError("the caller's transaction would roll back")

    assert OrderEvent.objects.filter(order=order).count() == before
