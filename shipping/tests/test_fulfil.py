"""After the label: voiding on cancel, tracking updates, and the sweep that re-queues lost steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from creatorflow.outbox.models import OutboxMessage
from inventory.models import Reservation, StockLevel
from inventory.services.stock import ReservationLine, stock_reserve
from inventory.tests.factories import stocked_sku
from orders.facade import order_cancel
from orders.models import OrderStatus
from shipping.carriers.base import TrackingUpdate
from shipping.models import CarrierAccount, SandboxParcel, Shipment, ShipmentStatus
from shipping.services.fulfil import shipment_void
from shipping.services.purchase import shipment_purchase
from shipping.services.sweep import shipping_sweep
from shipping.services.tracking import tracking_apply

from .batch_setup import ready_order, shipping_creator

pytestmark = pytest.mark.django_db


def _bought(shop, **fields):
    sku = stocked_sku(account=shop.account, on_hand=5)
    order = ready_order(shop, skus=[sku], **fields)
    stock_reserve(account=shop.account, order_ref=order.reservation_ref, lines=[ReservationLine(sku.pk, 1)])
    result = shipment_purchase(order_id=order.pk)
    assert result.ok
    return order, sku, Shipment.objects.get(pk=result.shipment_id)


def test_cancelling_an_order_with_a_label_voids_it_and_puts_the_stock_back(
    celery_eager, django_capture_on_commit_callbacks
):
    _, shop, _ = shipping_creator()
    order, sku, shipment = _bought(shop)

    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=order, actor=None, reason="Buyer cancelled")

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.VOIDED and shipment.voided_at is not None
    assert SandboxParcel.objects.get(tracking_number=shipment.tracking_number).voided
    assert Reservation.objects.get(order_ref=order.reservation_ref).status == Reservation.Status.RELEASED
    assert StockLevel.objects.get(sku=sku).reserved == 0
    assert order.events.filter(type="label_void", message__contains="voided").exists()


def test_a_label_already_in_the_network_is_not_voided_and_the_timeline_says_so(settings):
    _, shop, _ = shipping_creator()
    order, _, shipment = _bought(shop)
    SandboxParcel.objects.update(created_at=timezone.now() - timedelta(days=1))

    assert shipment_void(shipment_id=shipment.pk) is False

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PURCHASED
    event = order.events.get(type="label_void")
    assert "could not be voided" in event.message and "carrier's network" in event.message


BASE = timezone.now().replace(microsecond=0)


def _update(shipment, status, minutes):
    return TrackingUpdate(
        tracking_number=shipment.tracking_number,
        status=status,
        occurred_at=BASE + timedelta(minutes=minutes),
        message=status.replace("_", " "),
    )


def test_tracking_moves_the_shipment_and_order_forward_only():
    _, shop, _ = shipping_creator()
    order, _, shipment = _bought(shop)
    order.status = OrderStatus.SHIPPED
    order.save(update_fields=["status"])

    assert tracking_apply(
        update=_update(shipment, "in_transit", 1),
        source="easypost",
        carrier_account_id=str(shipment.carrier_account_id),
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_TRANSIT
    assert tracking_apply(
        update=_update(shipment, "delivered", 3),
        source="easypost",
        carrier_account_id=str(shipment.carrier_account_id),
    )
    # a late, older "in transit" changes nothing
    assert tracking_apply(
        update=_update(shipment, "in_transit", 2),
        source="easypost",
        carrier_account_id=str(shipment.carrier_account_id),
    )
    # the same update twice is kept once
    assert tracking_apply(
        update=_update(shipment, "delivered", 3),
        source="easypost",
        carrier_account_id=str(shipment.carrier_account_id),
    )

    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED and shipment.delivered_at is not None
    assert order.status == OrderStatus.DELIVERED
    assert shipment.tracking_events.count() == 3


def test_tracking_for_an_unknown_number_or_another_accounts_shipment_is_ignored():
    _, shop, _ = shipping_creator()
    _, _, shipment = _bought(shop)
    _, other_shop, _ = shipping_creator()

    other_carrier = CarrierAccount.objects.create(
        account=other_shop.account, provider="sandbox", name="Other"
    )

    unknown = TrackingUpdate(tracking_number="NOPE", status="delivered", occurred_at=timezone.now())
    assert (
        tracking_apply(update=unknown, source="shippo", carrier_account_id=str(shipment.carrier_account_id))
        is False
    )
    # another tenant's carrier account naming our tracking number changes nothing
    assert tracking_apply(update=_update(shipment, "delivered", 1), source="sandbox",
                          carrier_account_id=str(other_carrier.pk)) is False  # fmt: skip
    # and no carrier account at all matches nothing (never a global match by tracking number)
    assert (
        tracking_apply(update=_update(shipment, "delivered", 1), source="sandbox", carrier_account_id="")
        is False
    )
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PURCHASED


def test_the_sweep_requeues_ready_orders_without_a_label_and_unfinished_labels():
    _, shop, _ = shipping_creator()
    stale = ready_order(shop)
    fresh = ready_order(shop)
    type(stale).objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    order, _, shipment = _bought(shop)
    Shipment.objects.filter(pk=shipment.pk).update(purchased_at=timezone.now() - timedelta(minutes=10))

    counts = shipping_sweep()

    assert counts == {"ready": 1, "waiting": 0, "parked": 0, "unfinished": 1}
    purchase_kwargs = list(
        OutboxMessage.objects.filter(key__startswith="sweep-purchase:").values_list("kwargs", flat=True)
    )
    assert purchase_kwargs == [{"order_id": str(stale.pk)}]
    assert fresh.pk != stale.pk
    assert OutboxMessage.objects.filter(
        key__startswith="sweep-complete:", kwargs={"shipment_id": str(shipment.pk)}
    ).exists()
