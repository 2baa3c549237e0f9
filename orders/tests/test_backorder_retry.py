"""Backordered orders go on by themselves when their stock arrives; still-short ones are left alone."""

import pytest

from accounts.tests.factories import AccountFactory
from inventory.models import StockLevel
from inventory.services.stock import stock_receive
from inventory.tests.factories import stocked_sku
from orders.models import Order, OrderEvent, OrderStatus
from orders.services.intake import order_upsert_from_tiktok
from orders.tasks import retry_backorders_task
from orders.tests.tiktok_docs import tiktok_order
from tiktok.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_a_backordered_order_is_reserved_once_stock_arrives(django_capture_on_commit_callbacks):
    # given: two orders for 3 units of a SKU with 1 in stock, and one for a SKU that stays empty
    account = AccountFactory()
    shop = ShopFactory(account=account)
    sku = stocked_sku(account=account, on_hand=1, tiktok_sku_id="1729000000000000001")
    empty = stocked_sku(account=account, on_hand=0, tiktok_sku_id="1729000000000000002")
    waiting = order_upsert_from_tiktok(
        shop=shop, payload=tiktok_order(items=[(sku.tiktok_sku_id, sku.seller_sku, 3)])
    ).order
    stuck = order_upsert_from_tiktok(
        shop=shop, payload=tiktok_order(items=[(empty.tiktok_sku_id, empty.seller_sku, 1)])
    ).order
    assert {waiting.status, stuck.status} == {OrderStatus.BACKORDERED}
    stuck_events = OrderEvent.objects.filter(order=stuck).count()

    # when: stock arrives for the first SKU and the beat job runs
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(
            sku=sku, warehouse=StockLevel.objects.get(sku=sku).warehouse, quantity=10, reference="po:PO-00001"
        )
    moved = retry_backorders_task.apply().get()

    # then: the first order is reserved and ready; the other is untouched, its timeline too
    assert moved == 1
    assert Order.objects.get(pk=waiting.pk).status == OrderStatus.READY
    assert StockLevel.objects.get(sku=sku).reserved == 3
    assert Order.objects.get(pk=stuck.pk).status == OrderStatus.BACKORDERED
    assert OrderEvent.objects.filter(order=stuck).count() == stuck_events
