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


class BreakerOpen(Exception):
    """Like CircuitOpenError: the platform is unavailable, and says for how long."""

    retry_after = 600.0


@register_handler(PROVIDER, "breaker_open")
def breaker_open(event: InboundEventData) -> None:
    raise BreakerOpen("circuit open; retry in 600 s")


@register_handler(PROVIDER, "slow")
def slow(event: InboundEventData) -> None:
    """Runs for about half a second, noting the heartbeat its own row shows along the way."""
    import time

    from creatorflow.inbox.models import InboundEvent

    for _ in range(10):
        beat = InboundEvent.objects.filter(pk=event.id).values_list("heartbeat_at", flat=True).first()
        Account.objects.get_or_create(name=f"beat:{event.external_id}:{beat.isoformat()}")
        time.sleep(0.05)
