"""Rows the batch tests start from: a creator's account ready to ship with the sandbox carrier, and
orders ready for a label (an address, items with weights)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from accounts.tests.factories import MembershipFactory
from inventory.tests.factories import SKUFactory, WarehouseFactory
from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory, OrderItemFactory
from shipping.models import CarrierAccount
from tiktok.tests.connected import connect_sandbox_shop
from tiktok.tests.factories import ShopFactory

RECIPIENT = {
    "name": "Ada Buyer",
    "address_line1": "350 Fifth Avenue",
    "postal_code": "10118",
    "region_code": "US",
    "district_info": [
        {"address_level": "L0", "address_name": "United States"},
        {"address_level": "L1", "address_name": "New York"},
        {"address_level": "L3", "address_name": "New York"},
    ],
}


def shipping_creator(*, role: str = "owner", carrier_options: dict | None = None, tiktok=None):
    """A member of an account with a shop, a default warehouse (the ship-from) and a sandbox carrier.
    With `tiktok` (the TikTok sandbox), the shop is connected to it, so labels can be handed over."""
    membership = MembershipFactory(role=role)
    account = membership.account
    shop = (
        connect_sandbox_shop(tiktok, account=account)[1]
        if tiktok is not None
        else ShopFactory(account=account)
    )
    WarehouseFactory(account=account, is_default=True, name="Main")
    carrier = CarrierAccount.objects.create(
        account=account, provider="sandbox", name="Sandbox", options=carrier_options or {}
    )
    return membership, shop, carrier


def ready_order(shop, *, units: tuple[int, ...] = (1,), skus=None, with_address: bool = True, **fields):
    """An order in `ready` with one item per entry of `units` (a fresh SKU each, unless `skus`)."""
    address = (
        {
            "recipient_name": RECIPIENT["name"],
            "recipient": RECIPIENT,
            "country": "US",
            "state": "NY",
            "postal_code": "10118",
        }
        if with_address
        else {"recipient_name": "", "recipient": {}, "country": "", "state": "", "postal_code": ""}
    )
    order = OrderFactory(shop=shop, status=OrderStatus.READY, **{**address, **fields})
    for index, quantity in enumerate(units):
        sku = skus[index] if skus else SKUFactory(account=shop.account)
        OrderItemFactory(
            order=order, sku=sku, seller_sku=sku.seller_sku, product_name=sku.name, quantity=quantity
        )
    return order


def on_tiktok(sandbox, order):
    """Place `order` at the TikTok sandbox too (its id and delivery option become the sandbox's), so
    TikTok accepts its package when the label is handed over. Returns the order, refreshed."""
    shop_id = order.shop.shop_id
    product = sandbox.add_product(
        shop_id, title="Batch item", skus=[{"seller_sku": f"B-{order.pk.hex[:10]}"}]
    )
    placed = sandbox.create_order(shop_id, [(product["skus"][0]["id"], 1)], notify=False)
    Order.objects.filter(pk=order.pk).update(
        tiktok_order_id=placed["id"], delivery_option_id=placed["delivery_option_id"]
    )
    order.refresh_from_db()
    return order


def pdf_pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
