"""After the label: the stock leaves (OUT in the ledger), TikTok gets the tracking number, the order
is shipped; and the way back: voiding a label when an order is cancelled.

`shipment_complete` runs as its own outbox task after the purchase committed. The stock is consumed
in a short transaction first (the parcel is leaving with a label on it), then TikTok is called with
no transaction open; `tiktok_mark_shipped` moves the order to `shipped`, or parks it in
`needs_attention` with TikTok's reason. A TikTok error that may pass is raised for the outbox to retry.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from inventory.services.stock import reservation_consume
from orders.models import Order, OrderStatus
from orders.services.lifecycle import order_event
from tiktok.facade import tiktok_mark_shipped

from ..carriers import carrier_for
from ..carriers.base import CarrierError
from ..models import Shipment, ShipmentStatus

logger = logging.getLogger(__name__)

ACTOR = "shipping"
VOIDABLE = frozenset({ShipmentStatus.PENDING, ShipmentStatus.PURCHASED})


def shipment_complete(*, shipment_id) -> str:
    """Consume the order's reservation and mark it shipped at TikTok. Returns what happened."""
    shipment = Shipment.objects.select_related("order").filter(pk=shipment_id).first()
    if shipment is None or shipment.status != ShipmentStatus.PURCHASED:
        return "nothing to do"
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=shipment.order_id)
        if order.status != OrderStatus.LABEL_PURCHASED:
            return f"order is {order.status}"
        consumed = reservation_consume(order_ref=order.reservation_ref, actor=ACTOR)
        if consumed:
            order_event(
                order=order,
                type="stock",
                actor=ACTOR,
                message=f"Stock out: {sum(-t.quantity for t in consumed)} unit(s) left with the parcel",
            )
    result = tiktok_mark_shipped(
        order=order, carrier_name=shipment.carrier, tracking_number=shipment.tracking_number
    )
    if result.ok:
        Shipment.objects.filter(pk=shipment.pk, status=ShipmentStatus.PURCHASED).update(
            status=ShipmentStatus.SHIPPED, updated_at=timezone.now()
        )
        return "shipped"
    return f"needs attention: {result.message}"


def shipment_void(*, shipment_id, actor=ACTOR) -> bool:
    """Ask the carrier to refund an unused label; True when voided. Failures are recorded on the
    order's timeline (a person may need to void it at the carrier) and never raised."""
    shipment = Shipment.objects.select_related("carrier_account", "order").filter(pk=shipment_id).first()
    if shipment is None or shipment.status not in VOIDABLE:
        return False
    if shipment.status == ShipmentStatus.PENDING or not shipment.tracking_number:
        Shipment.objects.filter(pk=shipment.pk).update(status=ShipmentStatus.VOIDED, voided_at=timezone.now())
        return True
    if shipment.carrier_account is None:
        ok, message = False, "its carrier account was deleted"
    else:
        try:
            ok = carrier_for(shipment.carrier_account).void(
                label_id=shipment.provider_label_id,
                shipment_id=shipment.provider_shipment_id,
                tracking_number=shipment.tracking_number,
            )
            message = "" if ok else "the carrier refused the refund"
        except CarrierError as exc:
            ok, message = False, exc.message
    with transaction.atomic():
        if ok:
            Shipment.objects.filter(pk=shipment.pk).update(
                status=ShipmentStatus.VOIDED, voided_at=timezone.now()
            )
        order_event(
            order=shipment.order,
            type="label_void",
            actor=actor,
            message=(
                f"Label {shipment.tracking_number} voided"
                if ok
                else f"Label {shipment.tracking_number} could not be voided: {message}. Void it at the carrier."
            ),
        )
    return ok
