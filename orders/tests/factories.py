"""Factories for orders. `OrderFactory` makes a bare order row; to go through intake use
`orders.tests.tiktok_docs.tiktok_order` with `order_upsert_from_tiktok`."""

import factory

from orders.models import Order, OrderEvent, OrderItem, OrderStatus
from tiktok.tests.factories import ShopFactory


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    shop = factory.SubFactory(ShopFactory)
    account = factory.SelfAttribute("shop.account")
    tiktok_order_id = factory.Sequence(lambda n: str(577000000000000000 + n))
    tiktok_status = "AWAITING_SHIPMENT"
    tiktok_update_time = 1_718_305_585
    status = OrderStatus.RECEIVED


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    sku = None
    seller_sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    tiktok_sku_id = factory.Sequence(lambda n: str(1729592969712300000 + n))
    quantity = 1
    line_item_ids = factory.LazyAttribute(lambda o: [f"{o.tiktok_sku_id}{i}" for i in range(o.quantity)])


class OrderEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderEvent

    order = factory.SubFactory(OrderFactory)
    type = "status"
    actor_label = "system"
