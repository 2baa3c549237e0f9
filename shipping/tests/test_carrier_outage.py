"""A carrier that fails for a while, with a real Celery worker and the relay: the order waits
("Waiting for carrier"), nobody is asked to act, and once the carrier answers again the retry buys
exactly one label and TikTok accepts the package; the carrier's breaker is closed afterwards."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from creatorflow.core.testing_celery import wait_for
from orders.models import Order, OrderStatus
from shipping.facade import shipment_request
from shipping.models import CarrierAccount, LabelAttempt, SandboxParcel, Shipment, ShipmentStatus
from shipping.services.purchase import breaker_for

from .batch_setup import on_tiktok, ready_order, shipping_creator

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_an_order_waits_through_a_carrier_outage_then_ships_with_one_label(
    settings, tiktok_sandbox, celery_worker, dispatch_relay
):
    # given a carrier answering 500 to every purchase, and retries a second apart
    settings.SHIPPING_PURCHASE_RETRY_BASE_SECONDS = 1.0
    settings.SHIPPING_PURCHASE_RETRY_CAP_SECONDS = 2.0
    cache.clear()
    _, shop, carrier = shipping_creator(carrier_options={"fault": "5xx"}, tiktok=tiktok_sandbox)
    order = on_tiktok(tiktok_sandbox, ready_order(shop))

    # when the order's label is asked for, as the pipeline asks
    with transaction.atomic():
        assert shipment_request(order_id=order.pk, account_id=order.account_id)

    # then it waits for the carrier, with the carrier's answer in words, and stays ready (no person)
    wait_for(
        lambda: Shipment.objects.filter(
            order=order, status=ShipmentStatus.WAITING, retry_count__gte=2
        ).exists(),
        timeout=30,
        message="the purchase to wait and retry on its own",
    )
    shipment = Shipment.objects.get(order=order)
    assert "500" in shipment.wait_reason
    order.refresh_from_db()
    assert order.status == OrderStatus.READY and not order.attention_reason

    # when the carrier recovers
    CarrierAccount.objects.filter(pk=carrier.pk).update(options={})

    # then the next retry buys the label and TikTok takes the package: one label, nothing parked
    wait_for(
        lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.SHIPPED).exists(),
        timeout=60,
        message="the order to ship once the carrier answers",
    )
    assert SandboxParcel.objects.count() == 1
    assert LabelAttempt.objects.filter(shipment__order=order, state="bought").count() == 1
    assert tiktok_sandbox.get_order(order.tiktok_order_id)["status"] == "AWAITING_COLLECTION"
    breaker = breaker_for(carrier)
    assert breaker.state() == "closed" and breaker.failures() == 0
