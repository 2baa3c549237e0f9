"""Flow 1 end to end, with nothing stood in for but TikTok (its sandbox) and the carrier (the built-in
sandbox carrier):

sandbox order → signed webhook over HTTP → inbox → real Celery worker → batched fetch → order with
its stock reserved → ready → label bought from the sandbox carrier (outbox → worker) → Mark Package
As Shipped received by the TikTok sandbox with the carrier's provider id and our tracking number →
order `shipped`, stock OUT in the ledger → the carrier's signed tracking webhooks move it on to
delivered.
"""

import pytest

from creatorflow.core.testing_celery import wait_for
from inventory.models import InventoryTransaction, StockLevel, TransactionType
from inventory.tests.factories import WarehouseFactory, stocked_sku
from orders.models import Order, OrderStatus
from shipping.carriers.sandbox import sandbox_progress
from shipping.models import CarrierAccount, SandboxParcel, Shipment, ShipmentStatus
from tiktok.sandbox.records import SHIPPING_PROVIDERS
from tiktok.tests.connected import connect_sandbox_shop

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PROVIDER_IDS = {name: provider_id for provider_id, name in SHIPPING_PROVIDERS}


def _connected_shop_with_stock(sandbox, *, on_hand=10):
    _sb_shop, shop = connect_sandbox_shop(sandbox)
    product = sandbox.add_product(
        shop.shop_id,
        title="Cloud Jelly Lip Oil",
        skus=[{"seller_sku": "GL-LO-1", "price": "19.99", "quantity": 50}],
    )
    sku_id = product["skus"][0]["id"]
    warehouse = WarehouseFactory(account=shop.account, is_default=True, postal_code="90012", state="CA")
    sku = stocked_sku(
        account=shop.account, on_hand=on_hand, tiktok_sku_id=sku_id, seller_sku="GL-LO-1", warehouse=warehouse
    )
    CarrierAccount.objects.create(account=shop.account, provider="sandbox", name="Sandbox carrier")
    return shop, sku, sku_id


def test_a_tiktok_order_ships_with_no_human(
    tiktok_sandbox, webhook_server, celery_worker, dispatch_relay, settings
):
    settings.SHIPPING_SANDBOX_WEBHOOK_URL = f"{webhook_server}/webhooks/carriers/sandbox/"
    settings.SHIPPING_SANDBOX_STEP_SECONDS = 1
    shop, sku, sku_id = _connected_shop_with_stock(tiktok_sandbox)
    tiktok_sandbox.webhook_url = f"{webhook_server}/webhooks/tiktok/"

    doc = tiktok_sandbox.create_order(shop.shop_id, items=[(sku_id, 2)])
    tiktok_sandbox.flush_webhooks(timeout=10)

    order = wait_for(
        lambda: Order.objects.filter(
            shop=shop, tiktok_order_id=doc["id"], status=OrderStatus.SHIPPED
        ).first(),
        timeout=60,
        message="the order to be shipped",
    )
    shipment = Shipment.objects.get(order=order)
    assert shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.PURCHASED)
    # TikTok's sandbox got the package: our tracking number, the provider id of the label's carrier
    at_tiktok = tiktok_sandbox.get_order(doc["id"])
    assert at_tiktok["status"] == "AWAITING_COLLECTION"
    line = at_tiktok["line_items"][0]
    assert line["tracking_number"] == shipment.tracking_number
    assert line["shipping_provider_id"] == PROVIDER_IDS[shipment.carrier]
    # the stock left: one OUT row of 2 units, nothing reserved any more
    out = InventoryTransaction.objects.get(sku=sku, type=TransactionType.OUT, reference=order.reservation_ref)
    assert (out.quantity, out.previous_level, out.new_level) == (-2, 10, 8)
    level = StockLevel.objects.get(sku=sku)
    assert (level.on_hand, level.reserved) == (8, 0)
    assert not order.touched_by_human

    # the carrier's tracking arrives as signed webhooks and moves the order on
    parcel = SandboxParcel.objects.get(tracking_number=shipment.tracking_number)
    SandboxParcel.objects.filter(pk=parcel.pk).update(
        created_at=parcel.created_at.replace(year=parcel.created_at.year - 1)
    )
    assert sandbox_progress() == 4
    wait_for(
        lambda: Order.objects.get(pk=order.pk).status == OrderStatus.DELIVERED,
        timeout=30,
        message="the order to be delivered",
    )
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.DELIVERED
    assert set(shipment.tracking_events.values_list("source", flat=True)) == {"sandbox"}
    assert shipment.tracking_events.count() == 4
