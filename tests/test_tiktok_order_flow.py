"""The whole intake path, with nothing stood in for but TikTok itself (the sandbox):

sandbox order → signed webhook over HTTP → POST /webhooks/tiktok/ (live server) → inbox row →
the relay → real Celery worker → handler → batched fetch through the real client → order in PostgreSQL with
its stock reserved. And the same when webhooks are lost (the poll) or delivered 50 times at once.
"""

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from creatorflow.core.testing_celery import wait_for
from creatorflow.inbox.models import InboundEvent
from inventory.models import Reservation, StockLevel
from inventory.tests.factories import stocked_sku
from orders.models import Order
from tiktok.services.orders import orders_poll
from tiktok.signing import webhook_sign
from tiktok.tests.connected import connect_sandbox_shop

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _shop_with_stock(sandbox, *, on_hand=10):
    _sb_shop, shop = connect_sandbox_shop(sandbox)
    product = sandbox.add_product(
        shop.shop_id,
        title="Cloud Jelly Lip Oil",
        skus=[{"seller_sku": "GL-LO-1", "price": "19.99", "quantity": 50}],
    )
    sku_id = product["skus"][0]["id"]
    sku = stocked_sku(account=shop.account, on_hand=on_hand, tiktok_sku_id=sku_id, seller_sku="GL-LO-1")
    return shop, sku, sku_id


def _reserved(sku) -> int:
    return sum(StockLevel.objects.filter(sku=sku).values_list("reserved", flat=True))


def test_a_sandbox_order_arrives_by_webhook_and_its_stock_is_reserved(
    tiktok_sandbox,
    webhook_server,
    celery_worker,
    dispatch_relay,
):
    shop, sku, sku_id = _shop_with_stock(tiktok_sandbox)
    tiktok_sandbox.webhook_url = f"{webhook_server}/webhooks/tiktok/"

    doc = tiktok_sandbox.create_order(shop.shop_id, items=[(sku_id, 2)])
    tiktok_sandbox.flush_webhooks(timeout=10)

    wait_for(lambda: Order.objects.filter(shop=shop, tiktok_order_id=doc["id"]).exists(), timeout=30,
             message="the order to arrive")  # fmt: skip
    order = Order.objects.get(shop=shop, tiktok_order_id=doc["id"])
    assert order.items.count() == 1 and order.items.get().quantity == 2
    assert _reserved(sku) == 2
    event = InboundEvent.objects.get(provider="tiktok", source=shop.shop_id)
    wait_for(lambda: InboundEvent.objects.get(pk=event.pk).status == InboundEvent.Status.DONE, message="done")


def test_lost_webhooks_the_poll_still_brings_every_order_in(tiktok_sandbox, celery_worker):
    shop, sku, sku_id = _shop_with_stock(tiktok_sandbox, on_hand=100)
    tiktok_sandbox.faults.drop_webhooks = True
    docs = [tiktok_sandbox.create_order(shop.shop_id, items=[(sku_id, 1)]) for _ in range(12)]

    orders_poll(shop=shop)

    assert set(Order.objects.filter(shop=shop).values_list("tiktok_order_id", flat=True)) == {
        d["id"] for d in docs
    }
    assert _reserved(sku) == 12
    assert not InboundEvent.objects.filter(provider="tiktok").exists()


def test_fifty_concurrent_deliveries_of_one_webhook_make_one_order_and_one_reservation(
    tiktok_sandbox,
    webhook_server,
    celery_worker,
    dispatch_relay,
    settings,
):
    shop, sku, sku_id = _shop_with_stock(tiktok_sandbox)
    tiktok_sandbox.faults.drop_webhooks = True  # we deliver it ourselves, 50 times
    doc = tiktok_sandbox.create_order(shop.shop_id, items=[(sku_id, 1)])
    body = json.dumps(
        {"type": 1, "tts_notification_id": "7380066284010030890", "shop_id": shop.shop_id, "timestamp": 1,
         "data": {"order_id": doc["id"], "order_status": doc["status"], "update_time": doc["update_time"]}},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    signature = webhook_sign(
        app_key=settings.TIKTOK_APP_KEY, app_secret=settings.TIKTOK_APP_SECRET, body=body
    )
    start = threading.Barrier(50)
    parts = urlsplit(webhook_server)

    def deliver(_):
        start.wait()
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            conn.request("POST", "/webhooks/tiktok/", body=body, headers={"Authorization": signature})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(deliver, range(50)))

    assert answers == [(200, b"")] * 50
    assert InboundEvent.objects.filter(provider="tiktok").count() == 1
    wait_for(lambda: Order.objects.filter(shop=shop).exists(), timeout=30, message="the order to arrive")
    wait_for(
        lambda: InboundEvent.objects.filter(provider="tiktok", status=InboundEvent.Status.DONE).exists(),
        message="the event to be done",
    )
    order = Order.objects.get(shop=shop)
    assert Reservation.objects.filter(order_ref=order.reservation_ref).count() == 1
    assert _reserved(sku) == 1
