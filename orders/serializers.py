"""Shapes of the orders REST API (CONTRACT.md section 3), field for field.

The contract names an order's fields; the list envelope mirrors the inventory list:
`{"orders": [...], "pagination": {"page", "limit", "total"}}`. Money is a string with two decimals
next to its currency, times are ISO-8601 in UTC. Request serializers only check types, choices and
lengths; the lifecycle rules live in the services.
"""

from __future__ import annotations

from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from creatorflow.core.api import MAX_PAGE
from inventory.serializers import ErrorSerializer  # noqa: F401  (one error shape for the whole API)
from shipping.facade import shipment_for_order

from .models import OrderStatus, PriorityLevel

PAGE_SIZE = 50
SEARCH_MAX_LENGTH = 100
REASON_MAX_LENGTH = 500


@extend_schema_field({"type": "string", "enum": list(OrderStatus.values)})
class OrderStatusField(serializers.ChoiceField):
    """Our lifecycle status; its enum is inlined (other apps' `status` enums differ)."""

    def __init__(self, **kwargs):
        super().__init__(choices=OrderStatus.choices, **kwargs)


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True, **kwargs)


def _time(**kwargs) -> serializers.DateTimeField:
    return serializers.DateTimeField(default_timezone=UTC, **kwargs)


class OrderListQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
    status = OrderStatusField(required=False, help_text="Our lifecycle status (not TikTok's).")
    priority = serializers.ChoiceField(choices=PriorityLevel.choices, required=False)
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=SEARCH_MAX_LENGTH,
        help_text="Matches the TikTok order id, an item's SKU, or the customer's name (case-insensitive).",
    )


class ShopRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Our id of the connected shop.")
    name = serializers.CharField()
    shop_id = serializers.CharField(help_text="TikTok's shop id (a string: it exceeds 2^53).")


class PrioritySerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=PriorityLevel.choices)
    impact_score = serializers.IntegerField(help_text="0-100; the list is sorted by it, highest first.")
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Why the order has this priority."
    )


class OrderItemSerializer(serializers.Serializer):
    sku = serializers.CharField(help_text="The seller SKU (TikTok's SKU id when the seller set none).")
    name = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    unit_price = _money(help_text="Sale price of one unit, in the order's currency.")


class MoneySerializer(serializers.Serializer):
    amount = _money()
    currency = serializers.CharField(help_text="ISO 4217, e.g. USD.")


class ShipmentSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    service = serializers.CharField()
    tracking_number = serializers.CharField(allow_blank=True)
    label_url = serializers.URLField(allow_null=True)
    status = serializers.CharField()


class OrderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    tiktok_order_id = serializers.CharField()
    shop = ShopRefSerializer()
    status = OrderStatusField(help_text="Our lifecycle status.")
    tiktok_status = serializers.CharField(help_text="TikTok's own status as TikTok last reported it.")
    priority = PrioritySerializer()
    ship_by = _time(allow_null=True, help_text="TikTok's shipping due time (else its RTS SLA time).")
    items = OrderItemSerializer(many=True)
    total = MoneySerializer()
    shipment = ShipmentSerializer(
        allow_null=True, help_text="The order's shipment; null until a label is bought."
    )
    created_at = _time()
    updated_at = _time()


class OrderPaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField(help_text=f"Page size (always {PAGE_SIZE}).")
    total = serializers.IntegerField(help_text="Orders matching the filters, over all pages.")


class OrderListSerializer(serializers.Serializer):
    orders = OrderSerializer(many=True)
    pagination = OrderPaginationSerializer()


class HoldRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(min_length=1, max_length=REASON_MAX_LENGTH)


class CancelRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_MAX_LENGTH, default="")


def _item_name(item) -> str:
    if item.sku_id and item.sku is not None:
        return item.sku.name
    variant = item.sku_name if item.sku_name and item.sku_name != "Default" else ""
    return f"{item.product_name} {variant}".strip() or item.seller_sku or item.tiktok_sku_id


def shipment_body(order, request=None) -> dict | None:
    info = shipment_for_order(order)
    if info is None:
        return None
    label_url = info.label_url
    if label_url and request is not None:
        label_url = request.build_absolute_uri(label_url)
    return {
        "carrier": info.carrier,
        "service": info.service,
        "tracking_number": info.tracking_number,
        "label_url": label_url or None,
        "status": info.status,
    }


def order_body(order, request=None) -> dict:
    """The contract's order shape. `order` comes with `shop` selected and `items__sku` and
    `shipments` prefetched; with `request`, the label URL is absolute."""
    data = {
        "id": order.pk,
        "tiktok_order_id": order.tiktok_order_id,
        "shop": {"id": order.shop.pk, "name": order.shop.name, "shop_id": order.shop.shop_id},
        "status": order.status,
        "tiktok_status": order.tiktok_status,
        "priority": {
            "level": order.priority_level,
            "impact_score": order.impact_score,
            "reasons": [_reason_text(reason) for reason in order.priority_reasons or []],
        },
        "ship_by": order.ship_by,
        "items": [
            {
                "sku": item.seller_sku or item.tiktok_sku_id,
                "name": _item_name(item),
                "quantity": item.quantity,
                "unit_price": item.unit_price,
            }
            for item in order.items.all()
        ],
        "total": {"amount": order.total, "currency": order.currency},
        "shipment": shipment_body(order, request),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }
    return OrderSerializer(data).data


def _reason_text(reason) -> str:
    if isinstance(reason, dict):
        return str(reason.get("text") or reason.get("message") or reason.get("reason") or reason)
    return str(reason)
