"""Carrier tracking webhooks, processed (registered with the inbox; see creatorflow.inbox.registry).

Each provider module turns its body into `TrackingUpdate`s (`parse_webhook`); `tracking_apply`
matches each to a shipment of the carrier account the event was addressed to, by tracking number, and moves the shipment and its order on. An update
for a tracking number we do not know is logged and done (another system's parcel, or a voided one).
"""

from __future__ import annotations

import logging

from creatorflow.inbox.facade import InboundEventData, register_handler

from .services.tracking import tracking_apply

logger = logging.getLogger(__name__)


def _apply_all(event: InboundEventData, updates, *, source: str) -> int:
    """Apply each update to the shipments of the carrier account the event was addressed to (its
    `source`, recorded by the endpoint from the URL's token); an event with none applies to nothing."""
    if not event.source:
        logger.warning("carrier webhook %s names no carrier account; ignored", event.external_id)
        return 0
    return sum(
        1
        for update in updates
        if tracking_apply(update=update, source=source, carrier_account_id=event.source)
    )


@register_handler("easypost")
def easypost_event(event: InboundEventData) -> None:
    from .carriers.easypost import parse_webhook

    _apply_all(event, parse_webhook(event.body), source="easypost")


@register_handler("shippo")
def shippo_event(event: InboundEventData) -> None:
    from .carriers.shippo import parse_webhook

    _apply_all(event, parse_webhook(event.body), source="shippo")


@register_handler("sandbox_carrier")
def sandbox_event(event: InboundEventData) -> None:
    from .carriers.sandbox import parse_webhook

    _apply_all(event, parse_webhook(event.body), source="sandbox")
