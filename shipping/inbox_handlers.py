"""Carrier tracking webhooks, processed (registered with the inbox; see creatorflow.inbox.registry).

Each provider module turns its body into `TrackingUpdate`s (`parse_webhook`); `tracking_apply`
matches each to our shipment by tracking number and moves the shipment and its order on. An update
for a tracking number we do not know is logged and done (another system's parcel, or a voided one).
"""

from __future__ import annotations

from creatorflow.inbox.facade import InboundEventData, register_handler

from .services.tracking import tracking_apply


def _apply_all(updates, *, source: str, account_id: str = "") -> int:
    return sum(1 for update in updates if tracking_apply(update=update, source=source, account_id=account_id))


@register_handler("easypost")
def easypost_event(event: InboundEventData) -> None:
    from .carriers.easypost import parse_webhook

    _apply_all(parse_webhook(event.body), source="easypost")


@register_handler("shippo")
def shippo_event(event: InboundEventData) -> None:
    from .carriers.shippo import parse_webhook

    # The token named the carrier account, so only that account's shipments are matched.
    _apply_all(parse_webhook(event.body), source="shippo", account_id=event.source)


@register_handler("sandbox_carrier")
def sandbox_event(event: InboundEventData) -> None:
    from .carriers.sandbox import parse_webhook

    _apply_all(parse_webhook(event.body), source="sandbox")
