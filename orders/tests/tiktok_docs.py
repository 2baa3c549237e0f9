"""TikTok Shop order documents as `GET /order/202309/orders` returns them (CONTRACT.md section 4).

Ids and money are strings, times Unix seconds, and each line item is ONE unit: two of a SKU are two
line items with the same sku_id.
"""

from __future__ import annotations

import itertools
import time

_ids = itertools.count(576653688135258178)


def line_item(
    *, sku_id: str, seller_sku: str, price: str = "19.99", product_name: str = "Lip Oil", **extra
) -> dict:
    item = {
        "id": str(next(_ids)),
        "sku_id": sku_id,
        "product_id": extra.pop("product_id", "1729582718312380000"),
        "product_name": product_name,
        "sku_name": extra.pop("sku_name", "Default"),
        "seller_sku": seller_sku,
        "sale_price": price,
        "original_price": extra.pop("original_price", price),
        "currency": "USD",
        "display_status": "AWAITING_SHIPMENT",
        "package_id": "",
        "is_gift": False,
    }
    item.update(extra)
    return item


def tiktok_order(
    *,
    order_id: str | None = None,
    status: str = "AWAITING_SHIPMENT",
    items: list[tuple[str, str, int]] | None = None,
    update_time: int | None = None,
    create_time: int | None = None,
    ship_within_hours: float = 48,
    price: str = "19.99",
    **extra,
) -> dict:
    """An order document. `items` is [(tiktok_sku_id, seller_sku, units)]; money adds up."""
    now = int(time.time())
    create_time = create_time or now - 600
    lines = [
        line_item(sku_id=sku_id, seller_sku=seller_sku, price=price)
        for sku_id, seller_sku, units in (items or [("1729592969712207000", "SKU-00000", 1)])
        for _ in range(units)
    ]
    subtotal = sum(float(line["sale_price"]) for line in lines)
    shipping = 4.99
    due = int(create_time + ship_within_hours * 3600)
    on_hold = status in ("UNPAID", "ON_HOLD")
    doc = {
        "id": order_id or str(next(_ids)),
        "status": status,
        "create_time": create_time,
        "update_time": update_time or now,
        "paid_time": None if status == "UNPAID" else create_time + 30,
        "buyer_email": "v8x2buyer@scs.tiktokw.us",
        "buyer_message": "",
        "payment": {
            "currency": "USD",
            "sub_total": f"{subtotal:.2f}",
            "shipping_fee": f"{shipping:.2f}",
            "tax": "0.00",
            "total_amount": f"{subtotal + shipping:.2f}",
        },
        "recipient_address": {
            "name": "" if on_hold else "Jamie Rivera",
            "phone_number": "" if on_hold else "(+1)555*****21",
            "full_address": "" if on_hold else "1200 Market St, San Francisco, CA 94103",
            "address_line1": "" if on_hold else "1200 Market St",
            "address_line2": "",
            "address_line3": "",
            "address_line4": "",
            "postal_code": "" if on_hold else "94103",
            "region_code": "US",
            "district_info": []
            if on_hold
            else [
                {"address_level": "L0", "address_name": "United States"},
                {"address_level": "L1", "address_name": "California"},
                {"address_level": "L3", "address_name": "San Francisco"},
            ],
        },
        "line_items": lines,
        "delivery_option_id": "7091146663229654785",
        "delivery_option_name": "Standard shipping",
        "shipping_type": "SELLER",
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "rts_sla_time": due,
        "tts_sla_time": due + 86400,
        "shipping_due_time": due,
        "collection_due_time": due + 86400,
        "delivery_due_time": due + 5 * 86400,
        "cancel_order_sla_time": create_time + 3600,
        "is_on_hold_order": status == "ON_HOLD",
        "is_sample_order": False,
        "tracking_number": "",
        "shipping_provider_id": "",
        "warehouse_id": "7068517275539719942",
    }
    doc.update(extra)
    return doc
