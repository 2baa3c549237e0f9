"""The pipeline's safety net (beat): work whose message was lost or whose retries ran out is queued again.

The outbox already re-sends messages the broker lost; this catches the rest, every pass:
- a `ready` order that should be shipping automatically but has no label after a few minutes;
- a purchase that waits for a carrier (`waiting`) and whose retry is overdue (its scheduled message
  was lost, or its worker died): queued again now;
- an order parked in `needs_attention` because no label could be bought for a reason that passes
  on its own (`failure_kind` transient: an open circuit, a carrier's 5xx, a timeout; orders parked
  before purchases waited are classified so by the migration): back to `ready`, which queues its
  purchase; if the carrier is still down it now waits instead of parking;
- a bought label whose "tell TikTok" step has not finished.
Every step is idempotent, so a repeat costs nothing; the keys are bucketed per minute.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from creatorflow.outbox.facade import outbox_enqueue
from orders.facade import InvalidTransition, order_transition
from orders.models import Order, OrderStatus

from ..models import LIVE_SHIPMENT, CarrierAccount, FailureKind, Shipment, ShipmentStatus

logger = logging.getLogger(__name__)

ACTOR = "shipping"
GRACE = timedelta(minutes=3)
# A wait whose retry is this late has lost its message (the relay sends due rows within seconds).
WAIT_OVERDUE = timedelta(minutes=1)
LIMIT = 500


def shipping_sweep(*, now=None) -> dict:
    """One pass (see the module docstring); returns how many of each kind were queued again."""
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
    overdue = list(
        Shipment.objects.filter(
            status=ShipmentStatus.WAITING,
            retry_at__lt=now - WAIT_OVERDUE,
            order__status=OrderStatus.READY,
        ).values_list("order_id", flat=True)[:LIMIT]
    )
    unfinished = list(
        Shipment.objects.filter(
            status=ShipmentStatus.PURCHASED,
            purchased_at__lt=now - GRACE,
            order__status=OrderStatus.LABEL_PURCHASED,
        ).values_list("pk", flat=True)[:LIMIT]
    )
    with transaction.atomic():
        for order_id in [*ready, *overdue]:
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
    parked = _unpark_transient(now=now, with_carrier=with_carrier, live=live)
    return {"ready": len(ready), "waiting": len(overdue), "parked": parked, "unfinished": len(unfinished)}


def _unpark_transient(*, now, with_carrier, live) -> int:
    """Orders parked for a passing reason go back to `ready` (each in its own short transaction,
    under the order's lock; the `ready` transition queues the purchase). Parked orders a person has
    touched since, or whose last shipment failed for good, are left to the person."""
    latest_failure = Subquery(
        Shipment.objects.filter(order_id=OuterRef("pk")).order_by("-created_at").values("failure_kind")[:1]
    )
    candidates = list(
        Order.objects.filter(status=OrderStatus.NEEDS_ATTENTION, auto_ship=True, updated_at__lt=now - GRACE)
        .filter(with_carrier)
        .exclude(live)
        .annotate(last_failure=latest_failure)
        .filter(last_failure=FailureKind.TRANSIENT)
        .values_list("pk", flat=True)[:LIMIT]
    )
    moved = 0
    for order_id in candidates:
        with transaction.atomic():
            order = Order.objects.select_for_update().filter(pk=order_id).first()
            if order is None or order.status != OrderStatus.NEEDS_ATTENTION:
                continue
            try:
                order_transition(
                    order=order,
                    to=OrderStatus.READY,
                    actor=ACTOR,
                    reason="Trying the carriers again: the problem that parked this order may have passed",
                    locked=True,
                )
            except InvalidTransition:
                continue
            Order.objects.filter(pk=order_id).update(attention_reason="")
            moved += 1
    if moved:
        logger.info("shipping sweep: %s order(s) parked for a passing carrier problem are retried", moved)
    return moved
