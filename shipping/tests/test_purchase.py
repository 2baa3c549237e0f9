"""Buying labels: rate shopping, failover, exactly one label, and parking what cannot be bought."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from creatorflow.outbox.models import OutboxMessage
from inventory.tests.factories import SKUFactory
from orders.models import OrderStatus
from shipping.carriers.base import Parcel
from shipping.carriers.sandbox import SERVICES, quote, zone
from shipping.models import (
    AttemptState,
    CarrierAccount,
    LabelAttempt,
    SandboxParcel,
    Shipment,
    ShipmentStatus,
    ShippingProfile,
)
from shipping.services.purchase import shipment_purchase
from shipping.services.rating import add_business_days

from .batch_setup import ready_order, shipping_creator

pytestmark = pytest.mark.django_db


def _labels(order) -> int:
    return SandboxParcel.objects.filter(
        idempotency_key__in=LabelAttempt.objects.filter(shipment__order=order).values("idempotency_key")
    ).count()


def test_a_ready_order_gets_the_cheapest_label_and_its_next_step_is_queued():
    _, shop, carrier = shipping_creator()
    order = ready_order(shop)

    result = shipment_purchase(order_id=order.pk)

    assert result.ok
    shipment = Shipment.objects.get(pk=result.shipment_id)
    assert shipment.status == ShipmentStatus.PURCHASED
    assert shipment.carrier_account == carrier
    # the cheapest of the sandbox's services for this parcel and zone (CA warehouse -> NY buyer)
    parcel = Parcel(**shipment.parcel)
    prices = {
        (s.carrier, s.name): quote(s, parcel=parcel, zone_number=zone("90012", "10118"))[0] for s in SERVICES
    }
    assert shipment.rate_amount == min(prices.values())
    assert (shipment.carrier, shipment.service) == min(prices, key=prices.get)
    order.refresh_from_db()
    assert order.status == OrderStatus.LABEL_PURCHASED
    pdf = PdfReader(io.BytesIO(shipment.label_file.read()))
    box = pdf.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (288.0, 432.0)
    assert shipment.tracking_number in pdf.pages[0].extract_text()
    assert OutboxMessage.objects.filter(
        task="shipping.complete_shipment", key=f"complete-shipment:{shipment.pk}"
    ).exists()


@pytest.mark.parametrize("policy", ["fastest", "cheapest"])
def test_policy_fastest_prefers_the_fewest_days_and_cheapest_does_not(policy):
    _, shop, _ = shipping_creator()
    ShippingProfile.objects.create(account=shop.account, rate_policy=policy)
    order = ready_order(shop)

    shipment = Shipment.objects.get(pk=shipment_purchase(order_id=order.pk).shipment_id)

    days = {
        s.name: quote(s, parcel=Parcel(**shipment.parcel), zone_number=zone("90012", "10118"))[1]
        for s in SERVICES
    }
    if policy == "fastest":
        assert shipment.est_delivery_days == min(days.values())
    else:
        assert shipment.est_delivery_days > min(days.values())


def test_cheapest_on_time_skips_rates_that_would_arrive_after_tiktoks_deadline():
    from datetime import timedelta

    from django.utils import timezone

    _, shop, _ = shipping_creator()
    ShippingProfile.objects.create(account=shop.account, rate_policy="cheapest_on_time")
    order = ready_order(shop, delivery_due_time=add_business_days(timezone.now(), 2) + timedelta(hours=1))

    shipment = Shipment.objects.get(pk=shipment_purchase(order_id=order.pk).shipment_id)

    parcel = Parcel(**shipment.parcel)
    quotes = [(s, *quote(s, parcel=parcel, zone_number=zone("90012", "10118"))) for s in SERVICES]

    def on_time(days):
        return add_business_days(shipment.created_at, days) <= order.delivery_due_time

    cheapest_on_time = min(amount for _, amount, days in quotes if on_time(days))
    assert shipment.rate_amount == cheapest_on_time
    # the deadline mattered: the cheapest of all would have arrived late
    assert min(amount for _, amount, _ in quotes) < cheapest_on_time


def test_a_rule_pinned_carrier_and_service_wins_over_price():
    _, shop, _ = shipping_creator()
    order = ready_order(shop, preferred_carrier="UPS", preferred_service="Ground")

    shipment = Shipment.objects.get(pk=shipment_purchase(order_id=order.pk).shipment_id)

    assert (shipment.carrier, shipment.service) == ("UPS", "Ground")


def test_a_carrier_accounts_allowed_services_limit_what_is_bought():
    _, shop, carrier = shipping_creator()
    carrier.services_allowed = ["FedEx"]
    carrier.save()
    order = ready_order(shop)

    shipment = Shipment.objects.get(pk=shipment_purchase(order_id=order.pk).shipment_id)

    assert shipment.carrier == "FedEx"


@pytest.mark.parametrize("fault", ["5xx", "timeout"])
def test_failover_to_the_next_carrier_when_the_first_fails(fault):
    _, shop, failing = shipping_creator(carrier_options={"fault": fault})
    backup = CarrierAccount.objects.create(
        account=shop.account, provider="sandbox", name="Backup", preference=5
    )
    order = ready_order(shop)

    result = shipment_purchase(order_id=order.pk)

    assert result.ok
    shipment = Shipment.objects.get(pk=result.shipment_id)
    assert shipment.carrier_account == backup
    states = list(shipment.attempts.order_by("created_at").values_list("carrier_account_id", "state"))
    assert states[0] == (failing.pk, AttemptState.FAILED)
    assert states[-1] == (backup.pk, AttemptState.BOUGHT)
    assert _labels(order) == 1


def test_an_open_circuit_is_skipped_without_calling_the_carrier():
    from shipping.services.purchase import breaker_for

    _, shop, first = shipping_creator()
    backup = CarrierAccount.objects.create(
        account=shop.account, provider="sandbox", name="Backup", preference=5
    )
    breaker = breaker_for(first)
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state() == "open"
    order = ready_order(shop)

    result = shipment_purchase(order_id=order.pk)

    shipment = Shipment.objects.get(pk=result.shipment_id)
    assert shipment.carrier_account == backup
    assert not shipment.attempts.filter(carrier_account=first).exists()


def test_three_failures_open_the_carriers_circuit():
    from shipping.services.purchase import breaker_for

    # a carrier failing every call (its rates too: a good rates answer would close the count)
    _, shop, failing = shipping_creator(carrier_options={"fault": "5xx", "fault_on": ["rates", "buy"]})
    CarrierAccount.objects.create(account=shop.account, provider="sandbox", name="Backup", preference=5)
    for _ in range(3):
        assert shipment_purchase(order_id=ready_order(shop).pk).ok

    assert breaker_for(failing).state() == "open"
    fourth = ready_order(shop)
    shipment = Shipment.objects.get(pk=shipment_purchase(order_id=fourth.pk).shipment_id)
    assert not shipment.attempts.filter(carrier_account=failing).exists()


def test_a_timeout_after_the_carrier_bought_is_reconciled_into_one_label():
    _, shop, carrier = shipping_creator(carrier_options={"fault": "timeout_after_buy"})
    order = ready_order(shop)

    result = shipment_purchase(order_id=order.pk)

    assert result.ok
    shipment = Shipment.objects.get(pk=result.shipment_id)
    assert shipment.carrier_account == carrier
    assert shipment.attempts.count() == 1
    assert _labels(order) == 1
    assert SandboxParcel.objects.get().tracking_number == shipment.tracking_number


def test_a_retried_purchase_after_a_crash_reconciles_instead_of_buying_twice():
    _, shop, carrier = shipping_creator()
    order = ready_order(shop)
    first = shipment_purchase(order_id=order.pk)
    shipment = Shipment.objects.get(pk=first.shipment_id)
    bought = SandboxParcel.objects.get()
    # The worker died after the carrier sold the label but before we recorded it: the attempt is
    # still `started` and the shipment pending, as the rows were before the call.
    Shipment.objects.filter(pk=shipment.pk).update(
        status=ShipmentStatus.PENDING, tracking_number="", label_file=""
    )
    shipment.attempts.update(state=AttemptState.STARTED)
    order.status = OrderStatus.READY
    order.save(update_fields=["status"])

    again = shipment_purchase(order_id=order.pk)
    twice = shipment_purchase(order_id=order.pk)

    assert again.ok and twice.ok and again.shipment_id == shipment.pk == twice.shipment_id
    assert SandboxParcel.objects.count() == 1
    shipment.refresh_from_db()
    assert shipment.tracking_number == bought.tracking_number
    assert shipment.attempts.count() == 1


def test_a_claimed_order_is_busy_for_a_second_worker():
    from datetime import timedelta

    from django.utils import timezone

    _, shop, _ = shipping_creator()
    order = ready_order(shop)
    Shipment.objects.create(
        account=shop.account, order=order, claimed_until=timezone.now() + timedelta(minutes=1)
    )

    assert shipment_purchase(order_id=order.pk).state == "busy"
    assert SandboxParcel.objects.count() == 0


def test_when_every_carrier_refuses_for_good_the_order_needs_attention_with_each_error():
    _, shop, first = shipping_creator(carrier_options={"fault": "auth"})
    CarrierAccount.objects.create(
        account=shop.account, provider="sandbox", name="Second", options={"fault": "auth"}, preference=3
    )
    order = ready_order(shop)

    result = shipment_purchase(order_id=order.pk)

    assert result.state == "failed"
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_ATTENTION
    assert "Sandbox" in order.attention_reason and "401" in order.attention_reason
    assert "Second" in order.attention_reason
    shipment = Shipment.objects.get(order=order)
    assert (shipment.status, shipment.failure_kind) == (ShipmentStatus.FAILED, "permanent")
    # fixed and retried by a person: a new live shipment, bought
    CarrierAccount.objects.filter(account=shop.account).update(options={})
    order.status = OrderStatus.READY
    order.save(update_fields=["status"])
    assert shipment_purchase(order_id=order.pk).ok


def test_one_refusal_and_one_passing_failure_wait_with_each_error_instead_of_parking():
    _, shop, _ = shipping_creator(carrier_options={"fault": "5xx"})
    CarrierAccount.objects.create(
        account=shop.account, provider="sandbox", name="Second", options={"fault": "auth"}, preference=3
    )
    order = ready_order(shop)

    result = shipment_purchase(order_id=order.pk)

    # the 500 may pass, so no person is needed yet; both answers are shown
    assert result.state == "waiting"
    order.refresh_from_db()
    assert order.status == OrderStatus.READY
    shipment = Shipment.objects.get(order=order)
    assert shipment.status == ShipmentStatus.WAITING
    assert (
        "500" in shipment.wait_reason and "Second" in shipment.wait_reason and "401" in shipment.wait_reason
    )


def test_a_bad_address_is_shown_on_the_order_and_no_carrier_is_called():
    _, shop, _ = shipping_creator()
    order = ready_order(shop, postal_code="ABC")

    result = shipment_purchase(order_id=order.pk)

    assert result.state == "failed"
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_ATTENTION
    assert "postal code 'ABC'" in order.attention_reason
    assert LabelAttempt.objects.count() == 0


def test_no_carrier_account_leaves_the_order_ready():
    _, shop, carrier = shipping_creator()
    carrier.delete()
    order = ready_order(shop)

    assert shipment_purchase(order_id=order.pk).state == "skipped"
    order.refresh_from_db()
    assert order.status == OrderStatus.READY


def test_held_orders_are_bought_only_for_a_person():
    membership, shop, _ = shipping_creator()
    order = ready_order(shop)
    order.status = OrderStatus.HELD
    order.save(update_fields=["status"])

    assert shipment_purchase(order_id=order.pk).state == "skipped"
    result = shipment_purchase(order_id=order.pk, actor=membership.user)

    assert result.ok
    order.refresh_from_db()
    assert order.status == OrderStatus.LABEL_PURCHASED and order.touched_by_human


def test_parcel_uses_the_smallest_preset_that_fits_and_the_items_weight():
    from shipping.models import PackagePreset

    _, shop, _ = shipping_creator()
    PackagePreset.objects.create(
        account=shop.account, name="Big", length_mm=400, width_mm=300, height_mm=200, tare_grams=300
    )
    PackagePreset.objects.create(
        account=shop.account, name="Small", length_mm=150, width_mm=100, height_mm=50, tare_grams=40
    )
    PackagePreset.objects.create(
        account=shop.account, name="Medium", length_mm=250, width_mm=200, height_mm=100, tare_grams=120
    )
    sku = SKUFactory(account=shop.account, weight_grams=200, length_mm=120, width_mm=80, height_mm=40)
    order = ready_order(shop, units=(3,), skus=[sku])

    shipment = Shipment.objects.get(pk=shipment_purchase(order_id=order.pk).shipment_id)

    assert shipment.parcel == {
        "length_mm": 250,
        "width_mm": 200,
        "height_mm": 100,
        "weight_grams": 3 * 200 + 120,
    }
