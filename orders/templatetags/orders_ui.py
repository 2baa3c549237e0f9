"""Small display helpers for the orders pages: the SLA countdown and the priority badge class."""

from __future__ import annotations

from django import template
from django.utils import timezone

register = template.Library()

URGENT_HOURS = 4


@register.simple_tag
def sla(ship_by, status=""):
    """{"text", "css"} for the time left to `ship_by`: "5 h 12 m left" (red under 4 h), "overdue"."""
    from orders.lifecycle import OPEN_STATUSES

    if ship_by is None:
        return {"text": "No deadline", "css": "sla-none"}
    if status and status not in OPEN_STATUSES:
        return {"text": "—", "css": "sla-none"}
    seconds = int((ship_by - timezone.now()).total_seconds())
    if seconds <= 0:
        return {"text": "overdue", "css": "sla-overdue"}
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h left"
    else:
        text = f"{hours} h {minutes} m left"
    return {"text": text, "css": "sla-urgent" if seconds < URGENT_HOURS * 3600 else "sla-ok"}


@register.filter
def lower_css(value) -> str:
    return str(value or "").lower().replace("_", "-")


@register.filter
def items_summary(order) -> str:
    """ "2 × GL-LO, 1 × GL-CC" from the prefetched items."""
    parts = [f"{item.quantity} × {item.seller_sku or item.product_name}" for item in order.items.all()]
    return ", ".join(parts)
