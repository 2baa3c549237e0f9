"""JSON documents in TikTok's shapes, built from the sandbox records.

Ids and money are strings, times Unix seconds, and an order has one line item per unit, because our
client must cope with exactly that. Callers hold the state lock.
"""

from __future__ import annotations

from decimal import Decimal

from .records import SHIPPING_PROVIDERS

CENT = Decimal("0.01")
FREE_SHIPPING_FROM = Decimal("35.00")
SHIPPING_FEE = Decimal("5.99")
TAX_RATE = Decimal("0.08")
HIDDEN_ADDRESS_STATUSES = ("UNPAID", "ON_HOLD")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def product_document(state, product) -> dict:
    return {
        "id": product.id,
        "title": product.title,
        "status": product.status,
        "create_time": product.create_time,
        "update_time": product.update_time,
        "skus": [sku_document(state.skus[sku_id]) for sku_id in product.sku_ids],
    }


def sku_document(sku) -> dict:
    return {
        "id": sku.id,
        "seller_sku": sku.seller_sku,
        "price": {"currency": "USD", "sale_price": money(sku.price), "tax_exclusive_price": money(sku.price)},
        "inventory": [{"warehouse_id": wh, "quantity": qty} for wh, qty in sku.inventory.items()],
    }


def payment(order) -> dict:
    sub_total = sum((item.price for item in order.items), Decimal("0"))
    shipping = Decimal("0") if sub_total >= FREE_SHIPPING_FROM else SHIPPING_FEE
    tax = (sub_total * TAX_RATE).quantize(CENT)
    return {
        "currency": "USD",
        "sub_total": money(sub_total),
        "shipping_fee": money(shipping),
        "seller_discount": "0.00",
        "platform_discount": "0.00",
        "original_total_product_price": money(sub_total),
        "original_shipping_fee": money(SHIPPING_FEE),
        "shipping_fee_seller_discount": "0.00",
        "shipping_fee_platform_discount": "0.00",
        "tax": money(tax),
        "product_tax": money(tax),
        "shipping_fee_tax": "0.00",
        "total_amount": money(sub_total + shipping + tax),
    }


def recipient_address(order) -> dict:
    """TikTok masks the address (and name) until the order is paid and released from hold."""
    if order.status in HIDDEN_ADDRESS_STATUSES:
        return {
            "name": "",
            "phone_number": "",
            "full_address": "",
            "address_detail": "",
            "address_line1": "",
            "address_line2": "",
            "address_line3": "",
            "address_line4": "",
            "postal_code": "",
            "region_code": "",
            "district_info": [],
        }
    line1, city, state_name, state_code, postal = order.address
    return {
        "name": order.buyer_name,
        "phone_number": order.phone,
        "full_address": f"{line1}, {city}, {state_code} {postal}, United States",
        "address_detail": line1,
        "address_line1": line1,
        "address_line2": "",
        "address_line3": "",
        "address_line4": "",
        "postal_code": postal,
        "region_code": "US",
        "district_info": [
            {"address_level_name": "Country", "address_name": "United States", "address_level": "L0"},
            {"address_level_name": "State", "address_name": state_name, "address_level": "L1"},
            {"address_level_name": "City", "address_name": city, "address_level": "L3"},
        ],
    }


def line_item_status(order, item) -> str:
    if order.status == "CANCELLED":
        return "CANCELLED"
    if order.status == "PARTIALLY_SHIPPING":
        return "AWAITING_COLLECTION" if item.package_id else "AWAITING_SHIPMENT"
    return order.status


def order_document(state, order) -> dict:
    paid = order.paid_time
    return {
        "id": order.id,
        "status": order.status,
        "create_time": order.create_time,
        "update_time": order.update_time,
        "paid_time": paid,
        "user_id": f"7{order.id[-17:]}",
        "buyer_email": order.buyer_email,
        "buyer_message": order.buyer_message,
        "payment_method_name": "Credit card",
        "payment": payment(order),
        "recipient_address": recipient_address(order),
        "line_items": [
            {
                "id": item.id,
                "sku_id": item.sku_id,
                "product_id": item.product_id,
                "product_name": item.product_name,
                "sku_name": item.sku_name,
                "seller_sku": item.seller_sku,
                "sku_type": "NORMAL",
                "sale_price": money(item.price),
                "original_price": money(item.price),
                "platform_discount": "0.00",
                "seller_discount": "0.00",
                "currency": "USD",
                "display_status": line_item_status(order, item),
                "package_id": item.package_id,
                "tracking_number": order.tracking_number if item.package_id else "",
                "shipping_provider_id": order.shipping_provider_id if item.package_id else "",
                "is_gift": item.is_gift,
            }
            for item in order.items
        ],
        "packages": [{"id": package_id} for package_id in order.packages],
        "delivery_option_id": order.delivery_option_id,
        "delivery_option_name": order.delivery_option_name,
        "delivery_type": "HOME_DELIVERY",
        "shipping_type": "SELLER",
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "rts_sla_time": paid + 2 * 86400 if paid else 0,
        "tts_sla_time": paid + 3 * 86400 if paid else 0,
        "shipping_due_time": paid + 2 * 86400 if paid else 0,
        "collection_due_time": paid + 3 * 86400 if paid else 0,
        "delivery_due_time": paid + 7 * 86400 if paid else 0,
        "cancel_order_sla_time": order.create_time + 86400 if order.status == "UNPAID" else 0,
        "is_on_hold_order": order.status == "ON_HOLD",
        "is_sample_order": order.is_sample,
        "is_cod": False,
        "tracking_number": order.tracking_number,
        "shipping_provider_id": order.shipping_provider_id,
        "shipping_provider": provider_name(order.shipping_provider_id),
        "warehouse_id": order.warehouse_id,
        "cancel_reason": order.cancel_reason,
        "cancellation_initiator": "SELLER" if order.cancel_reason else "",
    }


def provider_name(provider_id: str) -> str:
    return dict(SHIPPING_PROVIDERS).get(provider_id, "")


def video_summary(state, video) -> dict:
    ctr = Decimal(video.clicks) / video.views if video.views else Decimal("0")
    return {
        "id": video.id,
        "title": video.title,
        "username": video.username,
        "gmv": {"amount": money(video.gmv), "currency": "USD"},
        "sku_orders": video.sku_orders,
        "units_sold": video.units_sold,
        "views": video.views,
        "click_through_rate": str(ctr.quantize(Decimal("0.0001"))),
        "products": [
            {"id": pid, "name": state.products[pid].title}
            for pid in video.product_ids
            if pid in state.products
        ],
        "video_post_time": video.post_time,
    }


def video_engagement(video) -> dict:
    return {
        "video_id": video.id,
        "engagement_data": {
            "total_likes": video.likes,
            "total_shares": video.shares,
            "total_comments": video.comments,
            "total_views": video.views,
        },
    }
