"""What each TikTok webhook type does (registered with the inbox; see creatorflow.inbox.registry).

A webhook only says that something changed: order types queue the order for a batched fetch
(`orders.pending_orders_add`), product types fetch the product, the authorization types update the
shop and tell the creator. Ids are parsed as strings (they may arrive as JSON numbers above 2^53).
A webhook for a shop we do not hold (disconnected and deleted, or never ours) is logged and done.
"""

from __future__ import annotations

import logging

from creatorflow.inbox.facade import InboundEventData, register_handler

from .models import Shop
from .services import catalog, connect, orders
from .webhooks import parse_exact

logger = logging.getLogger(__name__)

PROVIDER = "tiktok"
ORDER_TYPES = ("1", "3", "4", "11", "12")
PRODUCT_TYPES = ("5", "27")


def _as_int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _shop_and_data(event: InboundEventData) -> tuple[Shop | None, dict]:
    payload = parse_exact(event.body)
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    shop = (
        Shop.objects.select_related("account", "authorization")
        .filter(shop_id=str(payload.get("shop_id")))
        .first()
    )
    if shop is None:
        logger.info(
            "tiktok webhook %s for unknown shop %s: ignored", event.external_id, payload.get("shop_id")
        )
    return shop, data


def order_changed(event: InboundEventData) -> None:
    shop, data = _shop_and_data(event)
    if shop is None or not shop.is_active:
        return
    order_id = str(data.get("order_id") or "")
    if not order_id:
        logger.warning("tiktok webhook %s (type %s) names no order", event.external_id, event.event_type)
        return
    orders.pending_orders_add(shop=shop, order_id=order_id, update_time=_as_int(data.get("update_time")))


def product_changed(event: InboundEventData) -> None:
    shop, data = _shop_and_data(event)
    if shop is None or not shop.is_active:
        return
    product_id = str(data.get("product_id") or "")
    if not product_id:
        logger.warning("tiktok webhook %s (type %s) names no product", event.external_id, event.event_type)
        return
    catalog.product_refresh(shop=shop, product_id=product_id, update_time=_as_int(data.get("update_time")))


for _type in ORDER_TYPES:
    register_handler(PROVIDER, _type)(order_changed)
for _type in PRODUCT_TYPES:
    register_handler(PROVIDER, _type)(product_changed)


@register_handler(PROVIDER, "6")
def seller_deauthorized(event: InboundEventData) -> None:
    shop, _data = _shop_and_data(event)
    if shop is not None:
        connect.shop_deauthorized(shop=shop)


@register_handler(PROVIDER, "7")
def authorization_expiring(event: InboundEventData) -> None:
    shop, data = _shop_and_data(event)
    if shop is not None:
        connect.shop_authorization_expiring(shop=shop, data=data)
