"""Small helpers for the shared layout."""

from django import template

register = template.Library()

# The dashboard's main navigation: (label, path). Each later app takes over its path.
MAIN_NAV = (
    ("Orders", "/orders/"),
    ("Inventory", "/inventory/"),
    ("Shops", "/tiktok/shops/"),
    ("Shipping", "/shipping/"),
    ("Content", "/content/"),
    ("Analytics", "/analytics/"),
    ("Settings", "/settings/"),
)


@register.inclusion_tag("partials/main_nav.html", takes_context=True)
def main_nav(context):
    """The navigation links, the one under the current path marked current."""
    request = context.get("request")
    path = getattr(request, "path", "")
    items = [{"label": label, "href": href, "current": path.startswith(href)} for label, href in MAIN_NAV]
    return {"items": items, "home_current": path == "/"}
