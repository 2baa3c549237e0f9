"""Shipping's pieces on other apps' pages: the order page's label panel."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("shipping/_order_panel.html")
def order_shipping_panel(order):
    """The order's live label (carrier, service, tracking, "Print label") and its packing slip link.

    `order` was already looked up in the request's account, so its account scopes the query.
    """
    from shipping.selectors import live_shipment_for_order

    shipment = live_shipment_for_order(account=order.account_id, order_id=order.pk)
    return {"order": order, "shipment": shipment}
