"""Packing slips and pick lists from our orders: read the rows, make the plain values, render.

Reads only (no writes, no transaction needed). Queries are bounded whatever the number of orders:
`pick_list_for_orders` reads every item of the selection in one query; for slips, call
`prefetch_for_slips(orders)` once before `packing_slip_for_order` in a loop (a batch of 500 orders
is then three queries, not a thousand), or use `packing_slips_for_orders`.

The order's reference printed on documents is its id, the same reference the purchase gives the
carrier, so a slip, its label and the carrier's records can be matched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone

from orders.models import Order, OrderItem

from .packing_slip import PackingSlip, SlipItem, packing_slip_pdf
from .pick_list import PickLine, PickList, pick_list_pdf


def order_reference(order) -> str:
    """Our reference for an order, as printed on its documents and given to carriers."""
    return str(order.pk)


def _district(recipient: dict, *levels: str) -> str:
    parts = {
        str(part.get("address_level") or ""): str(part.get("address_name") or "").strip()
        for part in recipient.get("district_info") or []
        if isinstance(part, dict)
    }
    for level in levels:
        if parts.get(level):
            return parts[level]
    return ""


def ship_to_lines(name: str, recipient: dict | None) -> tuple[str, ...]:
    """Printable address lines from TikTok's `recipient_address`.

    Name, the street lines (address_line1..4), then "City, State Postal" from `district_info`
    (city is level L3, else L2; state is L1), the country when it is not the US, and the phone
    number (masked as TikTok sends it). When only `full_address` is filled, it stands in for the
    street and city lines. Empty when TikTok has not released the address yet.
    """
    recipient = recipient if isinstance(recipient, dict) else {}
    name = (name or str(recipient.get("name") or "")).strip()
    street = [
        str(recipient.get(key) or "").strip()
        for key in ("address_line1", "address_line2", "address_line3", "address_line4")
    ]
    street = [line for line in street if line]
    if not street and str(recipient.get("address_detail") or "").strip():
        street = [str(recipient["address_detail"]).strip()]
    city = _district(recipient, "L3", "L2")
    state = _district(recipient, "L1")
    postal = str(recipient.get("postal_code") or "").strip()
    region = str(recipient.get("region_code") or "").strip().upper()
    locality = ", ".join(part for part in (city, " ".join(p for p in (state, postal) if p)) if part)

    lines = [name] if name else []
    full = str(recipient.get("full_address") or "").strip()
    if street:
        lines += street
        if locality:
            lines.append(locality)
    elif full:
        lines.append(full)
    elif locality:
        lines.append(locality)
    if region and region != "US" and (street or locality):
        lines.append(_district(recipient, "L0") or region)
    phone = str(recipient.get("phone_number") or "").strip()
    if phone and len(lines) > (1 if name else 0):
        lines.append(f"Tel {phone}")
    return tuple(lines)


def prefetch_for_slips(orders: list) -> None:
    """Load the shop, items and SKUs of `orders` (model instances) in three queries."""
    prefetch_related_objects(list(orders), "shop", "items__sku")


def _items(order) -> list:
    cache = getattr(order, "_prefetched_objects_cache", {})
    if "items" in cache:
        return list(order.items.all())
    return list(order.items.select_related("sku"))


def _slip_item(item) -> SlipItem:
    sku = item.sku
    if sku is not None:
        return SlipItem(
            seller_sku=item.seller_sku or sku.seller_sku,
            name=sku.name or item.product_name,
            variant=sku.variant or item.sku_name,
            quantity=item.quantity,
            location=sku.location,
            is_gift=item.is_gift,
        )
    return SlipItem(
        seller_sku=item.seller_sku,
        name=item.product_name,
        variant=item.sku_name,
        quantity=item.quantity,
        is_gift=item.is_gift,
    )


def packing_slip_data(order) -> PackingSlip:
    """The plain values of an order's packing slip (uses prefetched shop/items when present)."""
    return PackingSlip(
        shop_name=order.shop.name,
        reference=order_reference(order),
        tiktok_order_id=order.tiktok_order_id,
        order_date=order.placed_at or order.created_at,
        ship_to=ship_to_lines(order.recipient_name, order.recipient),
        items=tuple(_slip_item(item) for item in _items(order)),
        buyer_message=order.buyer_message,
    )


def packing_slip_for_order(order, *, page: str = "4x6") -> bytes:
    """An order's packing slip PDF (`page` "4x6" or "letter")."""
    return packing_slip_pdf(packing_slip_data(order), page=page)


def packing_slips_for_orders(orders: Iterable, *, page: str = "4x6") -> list[tuple[object, bytes]]:
    """(order id, slip PDF) for each order, in the given order, reading the rows in three queries."""
    orders = list(orders)
    prefetch_for_slips(orders)
    return [(order.pk, packing_slip_for_order(order, page=page)) for order in orders]


@dataclass
class _Tally:
    seller_sku: str
    name: str
    location: str
    quantity: int = 0
    orders: set = field(default_factory=set)


def _order_ids(orders) -> list:
    if isinstance(orders, QuerySet):
        return list(orders.order_by().values_list("pk", flat=True))
    return [order.pk if isinstance(order, Order) else order for order in orders]


def pick_list_for_orders(orders, *, title: str = "Pick list") -> bytes:
    """The pick list PDF for a selection (a queryset or an iterable of orders or order ids).

    Units are summed per inventory SKU (items not matched to one are summed per seller SKU), with
    how many of the orders need it. One query reads every item with its SKU's location.
    """
    ids = list(dict.fromkeys(_order_ids(orders)))
    rows = OrderItem.objects.filter(order_id__in=ids).values_list(
        "order_id",
        "quantity",
        "seller_sku",
        "product_name",
        "sku_name",
        "sku_id",
        "sku__seller_sku",
        "sku__name",
        "sku__variant",
        "sku__location",
    )
    tallies: dict[tuple, _Tally] = {}
    for (
        order_id,
        quantity,
        seller_sku,
        product_name,
        sku_name,
        sku_id,
        s_sku,
        s_name,
        s_variant,
        location,
    ) in rows:
        if sku_id is not None:
            key = ("sku", sku_id)
            name = s_name or product_name
            if s_variant and s_variant.lower() not in name.lower():
                name = f"{name} / {s_variant}"
            tally = tallies.get(key) or _Tally(s_sku or seller_sku, name, location or "")
        else:
            key = ("seller_sku", seller_sku or product_name)
            name = " / ".join(part for part in (product_name, sku_name) if part)
            tally = tallies.get(key) or _Tally(seller_sku, name, "")
        tally.quantity += quantity
        tally.orders.add(order_id)
        tallies[key] = tally
    pick = PickList(
        created_at=timezone.now(),
        order_count=len(ids),
        lines=tuple(
            PickLine(
                seller_sku=t.seller_sku,
                name=t.name,
                location=t.location,
                quantity=t.quantity,
                order_count=len(t.orders),
            )
            for t in tallies.values()
        ),
        title=title,
    )
    return pick_list_pdf(pick)
