"""What other apps use of shipping: plain values and a few entry points.

- `shipment_request(*, order_id, account_id)`: inside the caller's transaction, when an order became
  `ready`: queue its label purchase (outbox) if the account has an enabled carrier account.
- `label_void_for_order(*, order_id) -> bool`: after a cancellation committed: queue voiding the
  order's label; True when there was one to void.
- `shipment_for_order(order) -> ShipmentInfo | None`: the order's live shipment for the API and pages
  (uses `order.shipments.all()`, so a prefetch of "shipments" makes it free).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction

from creatorflow.outbox.facade import outbox_enqueue

from .models import ENDED_SHIPMENT_STATUSES, CarrierAccount, Shipment, ShipmentStatus


@dataclass(frozen=True)
class ShipmentInfo:
    id: uuid.UUID
    carrier: str
    service: str
    tracking_number: str
    tracking_url: str
    label_url: str
    status: str


def shipment_request(*, order_id, account_id) -> bool:
    """Queue the purchase; False when the account has no enabled carrier (the order stays ready)."""
    if not CarrierAccount.objects.filter(account_id=account_id, enabled=True).exists():
        return False
    outbox_enqueue(task="shipping.purchase_label", kwargs={"order_id": str(order_id)}, queue="integrations")
    return True


def label_void_for_order(*, order_id) -> bool:
    """Queue voiding the order's unused label (runs after the caller's commit; calls no carrier here)."""
    shipment_id = (
        Shipment.objects.filter(
            order_id=order_id,
            status__in=[ShipmentStatus.PENDING, ShipmentStatus.WAITING, ShipmentStatus.PURCHASED],
        )
        .values_list("pk", flat=True)
        .first()
    )
    if shipment_id is None:
        return False
    with transaction.atomic():
        outbox_enqueue(
            task="shipping.void_label",
            kwargs={"shipment_id": str(shipment_id)},
            queue="integrations",
            key=f"void-shipment:{shipment_id}",
        )
    return True


def label_url(shipment_id) -> str:
    return f"/shipping/shipments/{shipment_id}/label/"


def shipment_for_order(order) -> ShipmentInfo | None:
    live = [s for s in order.shipments.all() if s.status not in ENDED_SHIPMENT_STATUSES]
    if not live:
        return None
    s = live[0]
    return ShipmentInfo(
        id=s.pk,
        carrier=s.carrier,
        service=s.service,
        tracking_number=s.tracking_number,
        tracking_url=s.tracking_url,
        label_url=label_url(s.pk) if s.label_file else "",
        status=s.status,
    )
