"""Handlers for the test provider. Each run leaves Account rows named after the event, so a test can
count how many times a handler really ran (a counter that cannot be fooled by our own code)."""

from accounts.models import Account
from creatorflow.inbox.registry import InboundEventData, register_handler

PROVIDER = "test"


@register_handler(PROVIDER, "record")
def record(event: InboundEventData) -> None:
    Account.objects.create(name=f"effect:{event.external_id}")


@register_handler(PROVIDER, "explode")
def explode(event: InboundEventData) -> None:
    Account.objects.create(name=f"attempt:{event.external_id}")
    raise RuntimeError(f"handler for {event.external_id} always fails")


@register_handler(PROVIDER, "needs_fix")
def needs_fix(event: InboundEventData) -> None:
    Account.objects.create(name=f"attempt:{event.external_id}")
    if not Account.objects.filter(name=f"fixed:{event.external_id}").exists():
        raise RuntimeError("the dependency is still down")
    Account.objects.create(name=f"effect:{event.external_id}")
