"""Tracking updates (carrier webhooks, the sandbox's progression) applied to shipments and orders.

A shipment's status only moves forward (a late "in transit" never undoes "delivered"); the order
follows where its lifecycle allows: in_transit / out_for_delivery → `in_transit`, delivered →
`delivered`, returned → `returned`. Every update is kept as a `TrackingEvent` (once).
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.facade import InvalidTransition, can_transition, order_transition
from orders.models import Order, OrderStatus

from ..carriers.base import TrackingUpdate
from ..models import LIVE_SHIPMENT, Shipment, ShipmentStatus, TrackingEvent

logger = logging.getLogger(__name__)

SHIPMENT_STATUS = {
    "pre_transit": None,
    "in_transit": ShipmentStatus.IN_TRANSIT,
    "out_for_delivery": ShipmentStatus.OUT_FOR_DELIVERY,
    "delivered": ShipmentStatus.DELIVERED,
    "returned": ShipmentStatus.RETURNED,
    "exception": ShipmentStatus.EXCEPTION,
}
ORDER_STATUS = {
    ShipmentStatus.IN_TRANSIT: OrderStatus.IN_TRANSIT,
    ShipmentStatus.OUT_FOR_DELIVERY: OrderStatus.IN_TRANSIT,
    ShipmentStatus.DELIVERED: OrderStatus.DELIVERED,
    ShipmentStatus.RETURNED: OrderStatus.RETURNED,
}
RANK = {
    ShipmentStatus.PURCHASED: 0,
    ShipmentStatus.SHIPPED: 1,
    ShipmentStatus.EXCEPTION: 2,
    ShipmentStatus.IN_TRANSIT: 3,
    ShipmentStatus.OUT_FOR_DELIVERY: 4,
    ShipmentStatus.DELIVERED: 5,
    ShipmentStatus.RETURNED: 6,
}


def tracking_apply(*, update: TrackingUpdate, source: str, carrier_account_id: str) -> bool:
    """Apply one update to the live shipment of `carrier_account_id` with its tracking number; False
    when that carrier account has none. Never matched across carrier accounts: the webhook that
    brought the update was addressed to one account, and applies to its parcels only."""
    if not carrier_account_id or not update.tracking_number:
        return False
    shipment = Shipment.objects.filter(
        LIVE_SHIPMENT, tracking_number=update.tracking_number, carrier_account_id=carrier_account_id
    ).first()
    if shipment is None or not update.tracking_number:
        logger.info("tracking: no live shipment for %s (%s)", update.tracking_number, source)
        return False
    new_status = SHIPMENT_STATUS.get(update.status)
    occurred_at = update.occurred_at if timezone.is_aware(update.occurred_at) else timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                TrackingEvent.objects.create(
                    shipment=shipment,
                    status=new_status or ShipmentStatus.PURCHASED,
                    message=update.message[:300],
                    location=update.location[:200],
                    occurred_at=occurred_at,
                    source=source,
                    external_id=update.event_id[:120],
                )
        except IntegrityError:
            return True  # seen before
        if new_status is None:
            return True
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if RANK.get(new_status, 0) <= RANK.get(locked.status, 0) and new_status != ShipmentStatus.EXCEPTION:
            return True
        changes = {"status": new_status, "updated_at": timezone.now()}
        if new_status == ShipmentStatus.DELIVERED:
            changes["delivered_at"] = occurred_at
        Shipment.objects.filter(pk=shipment.pk).update(**changes)
        order_to = ORDER_STATUS.get(new_status)
        if order_to:
            order = Order.objects.select_for_update().get(pk=shipment.order_id)
            if order.status != order_to and can_transition(order.status, order_to):
                try:
                    order_transition(
                        order=order,
                        to=order_to,
                        actor=source,
                        reason=f"{shipment.carrier} {update.tracking_number}: {update.message or update.status}",
                        locked=True,
                    )
                except InvalidTransition:
                    logger.info("tracking: order %s stays %s", order.pk, order.status)
    return True
