"""The pipeline's safety net (beat): work whose message was lost or whose retries ran out is queued again.

The outbox already re-sends messages the broker lost; this catches the rest: a `ready` order that
should be shipping automatically but has no label after a few minutes, and a bought label whose
"tell TikTok" step has not finished. Both steps are idempotent, so a repeat costs nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from creatorflow.outbox.facade import outbox_enqueue
from orders.models import Order, OrderStatus

from ..models import LIVE_SHIPMENT, CarrierAccount, Shipment, ShipmentStatus

GRACE = timedelta(minutes=3)
LIMIT = 500


def shipping_sweep(*, now=None) -> dict:
    now = now or timezone.now()
    bucket = int(now.timestamp() // 60)
    with_carrier = Exists(CarrierAccount.objects.filter(account_id=OuterRef("account_id"), enabled=True))
    live = Exists(Shipment.objects.filter(LIVE_SHIPMENT, order_id=OuterRef("pk")))
    ready = list(
        Order.objects.filter(status=OrderStatus.READY, auto_ship=True, updated_at__lt=now - GRACE)
        .filter(with_carrier)
        .exclude(live)
        .values_list("pk", flat=True)[:LIMIT]
    )
    unfinished = list(
        Shipment.objects.filter(
            status=ShipmentStatus.PURCHASED,
            purchased_at__lt=now - GRACE,
            order__status=OrderStatus.LABEL_PURCHASED,
        ).values_list("pk", flat=True)[:LIMIT]
    )
    with transaction.atomic():
        for order_id in ready:
            outbox_enqueue(
                task="shipping.purchase_label",
                kwargs={"order_id": str(order_id)},
                queue="integrations",
                key=f"sweep-purchase:{order_id}:{bucket}",
            )
        for shipment_id in unfinished:
            outbox_enqueue(
                task="shipping.complete_shipment",
                kwargs={"shipment_id": str(shipment_id)},
                queue="integrations",
                key=f"sweep-complete:{shipment_id}:{bucket}",
            )
    return {"ready": len(ready), "unfinished": len(unfinished)}
