from django import template

from notifications import selectors

register = template.Library()


@register.inclusion_tag("notifications/bell.html", takes_context=True)
def notification_bell(context):
    """The top bar's bell with the unread count; it then refreshes itself over HTMX."""
    request = context.get("request")
    count = selectors.notification_unread_count(
        account=getattr(request, "account", None), user=getattr(request, "user", None)
    )
    return {"unread_count": count}
