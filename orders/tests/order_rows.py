"""Orders built straight with the ORM for priority and rules tests (no intake involved)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from orders.models import Order, OrderItem
from tiktok.tests.factories import ShopFactory

_ids = itertools.count(576460752303423000)


def order_row(account, *, items=(), shop=None, **fields) -> Order:
    """An order of `account` with `items`: (sku, quantity) pairs, or (seller_sku, quantity) for an
    unmapped SKU. Defaults: received, USD, total 25.00, no ship-by, standard delivery."""
    shop = shop or ShopFactory(account=account)
    fields = {
        "tiktok_status": "AWAITING_SHIPMENT",
        "total": Decimal("25.00"),
        "delivery_option_name": "Standard shipping",
        **fields,
    }
    order = Order.objects.create(account=account, shop=shop, tiktok_order_id=str(next(_ids)), **fields)
    for index, (sku, quantity) in enumerate(items):
        mapped = not isinstance(sku, str)
        OrderItem.objects.create(
            order=order,
            sku=sku if mapped else None,
            seller_sku=sku.seller_sku if mapped else sku,
            tiktok_sku_id=f"{order.tiktok_order_id}-{index}",
            tiktok_product_id=f"prod-{sku.product_id if mapped else sku}",
            quantity=quantity,
            unit_price=Decimal("10.00"),
        )
    return order
