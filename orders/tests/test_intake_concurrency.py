import threading

import pytest
from django.db import connection

from inventory.models import Reservation, StockLevel
from inventory.tests.factories import stocked_sku
from orders.models import Order, OrderEvent
from orders.services.intake import order_upsert_from_tiktok
from orders.tests.tiktok_docs import tiktok_order
from tiktok.tests.factories import ShopFactory

THREADS = 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_document_20_times_at_once_is_one_order_and_one_reservation_per_sku():
    # given a shop with two SKUs and one order document
    shop = ShopFactory()
    a = stocked_sku(account=shop.account, on_hand=50, tiktok_sku_id="170001", seller_sku="LIP-1")
    b = stocked_sku(account=shop.account, on_hand=50, tiktok_sku_id="170002", seller_sku="LIP-2")
    doc = tiktok_order(items=[("170001", "LIP-1", 2), ("170002", "LIP-2", 1)])
    start = threading.Barrier(THREADS)
    results, errors = [], []

    def deliver():
        try:
            start.wait()
            results.append(order_upsert_from_tiktok(shop=shop, payload=doc))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    # when 20 threads deliver it at the same time
    threads = [threading.Thread(target=deliver) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then one order, one reservation per SKU, stock counted once
    assert errors == []
    assert sum(r.created for r in results) == 1
    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert order.status == "ready"
    assert sorted(Reservation.objects.values_list("sku_id", "quantity")) == sorted([(a.pk, 2), (b.pk, 1)])
    assert StockLevel.objects.get(sku=a).reserved == 2 and StockLevel.objects.get(sku=b).reserved == 1
    assert OrderEvent.objects.filter(order=order, type="status", to_status="received").count() == 1
