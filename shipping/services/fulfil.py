"""After the label: TikTok gets the tracking number, the stock leaves (OUT in the ledger), the order
is shipped; and the way back: voiding a label when an order is cancelled.

`shipment_complete` runs as its own outbox task after the purchase committed. TikTok is called with
no transaction open; only once it has accepted the package does the reservation become an OUT, in
the same short transaction that records the acceptance (`tiktok_mark_shipped(on_accepted=...)`),
so a refusal for good leaves the stock reserved and nothing out of the ledger: the order waits in
`needs_attention` with TikTok's reason, and a person who fixes it sends it on again. A TikTok error
that may pass is raised for the outbox to retry (honouring an open breaker's `retry_after`).
"""

from __future__ import annotations

import logging
from functools import partial

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
VOIDABLE = frozenset({ShipmentStatus.PENDING, ShipmentStatus.WAITING, ShipmentStatus.PURCHASED})


def shipment_complete(*, shipment_id) -> str:
    """Mark the order shipped at TikTok; the stock leaves with TikTok's acceptance. Returns what
    happened. Idempotent: a shipment no longer `purchased`, or an order no longer
    `label_purchased`, is left alone (and a label batch waiting on it learns the outcome)."""
    shipment = Shipment.objects.select_related("order").filter(pk=shipment_id).first()
    if shipment is None or shipment.status != ShipmentStatus.PURCHASED:
        return "nothing to do"
    order = Order.objects.select_related("shop").get(pk=shipment.order_id)
    if order.status != OrderStatus.LABEL_PURCHASED:
        _tell_batches(order.pk)
        return f"order is {order.status}"
    result = tiktok_mark_shipped(
        order=order,
        carrier_name=shipment.carrier,
        tracking_number=shipment.tracking_number,
        on_accepted=partial(_stock_leaves, shipment_id=shipment.pk),
    )
    _tell_batches(order.pk)
    if result.ok:
        return "shipped"
    return f"needs attention: {result.message}"


def _stock_leaves(order, *, shipment_id) -> None:
    """Inside the transaction recording TikTok's acceptance (the order row locked): the reservation
    becomes an OUT and the shipment is shipped. A repeat (TikTok said "already shipped") consumes
    nothing twice: a consumed reservation is no longer active."""
    consumed = reservation_consume(order_ref=order.reservation_ref, actor=ACTOR)
    if consumed:
        order_event(
            order=order,
            type="stock",
            actor=ACTOR,
            message=f"Stock out: {sum(-t.quantity for t in consumed)} unit(s) left with the parcel",
        )
    Shipment.objects.filter(pk=shipment_id, status=ShipmentStatus.PURCHASED).update(
        status=ShipmentStatus.SHIPPED, updated_at=timezone.now()
    )


def _tell_batches(order_id) -> None:
    from .batches import batch_items_refresh

    batch_items_refresh(order_id=order_id)


def shipment_void(*, shipment_id, actor=ACTOR) -> bool:
    """Ask the carrier to refund an unused label; True when voided. Failures are recorded on the
    order's timeline (a person may need to void it at the carrier) and never raised."""
    shipment = Shipment.objects.select_related("carrier_account", "order").filter(pk=shipment_id).first()
    if shipment is None or shipment.status not in VOIDABLE:
        return False
    if shipment.status in (ShipmentStatus.PENDING, ShipmentStatus.WAITING) or not shipment.tracking_number:
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
