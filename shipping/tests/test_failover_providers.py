"""Failover and exactly-once through the real EasyPost and Shippo SDKs, against their local stand-ins."""

from __future__ import annotations

import pytest

from shipping.models import AttemptState, CarrierAccount, Shipment
from shipping.services.purchase import shipment_purchase
from shipping.standins import easypost as easypost_standin_module
from shipping.standins import shippo as shippo_standin_module

from .batch_setup import RECIPIENT, ready_order, shipping_creator

pytestmark = pytest.mark.django_db


def _providers(shop, *, shippo=True):
    CarrierAccount.objects.filter(account=shop.account).delete()  # no sandbox here
    easypost = CarrierAccount.objects.create(
        account=shop.account,
        provider="easypost",
        name="EasyPost",
        api_key=easypost_standin_module.DEFAULT_API_KEY,
    )
    backup = None
    if shippo:
        backup = CarrierAccount.objects.create(
            account=shop.account, provider="shippo", name="Shippo", api_key=shippo_standin_module.DEFAULT_API_KEY,
            preference=5,
        )  # fmt: skip
    return easypost, backup


def test_easypost_answering_500_falls_over_to_shippo(easypost_standin, shippo_standin):
    _, shop, _ = shipping_creator()
    _, shippo = _providers(shop)
    easypost_standin.fail_next(10, status=500)
    order = ready_order(shop)

    result = shipment_purchase(order_id=order.pk)

    assert result.ok, result.error
    shipment = Shipment.objects.get(pk=result.shipment_id)
    assert shipment.carrier_account == shippo and shipment.provider == "shippo"
    assert shipment.tracking_number and shipment.label_file
    assert easypost_standin.labels_bought == 0


def test_an_easypost_purchase_that_times_out_after_buying_is_found_not_bought_again(
    easypost_standin, settings
):
    settings.SHIPPING_CARRIER_TIMEOUT = 0.5
    _, shop, _ = shipping_creator()
    easypost, _ = _providers(shop, shippo=False)
    easypost_standin.slow_buy_after_recording(1, seconds=2.0)
    order = ready_order(shop)

    result = shipment_purchase(order_id=order.pk)

    assert result.ok, result.error
    shipment = Shipment.objects.get(pk=result.shipment_id)
    assert shipment.carrier_account == easypost
    assert easypost_standin.labels_bought == 1
    assert list(shipment.attempts.values_list("state", flat=True)) == [AttemptState.BOUGHT]
    # and a retried purchase (a redelivered task) buys nothing more
    assert shipment_purchase(order_id=order.pk).shipment_id == shipment.pk
    assert easypost_standin.labels_bought == 1


def test_an_address_easypost_cannot_verify_parks_the_order_before_any_label(easypost_standin):
    _, shop, _ = shipping_creator()
    _providers(shop, shippo=False)
    recipient = {**RECIPIENT, "address_line1": "1 Nowhere Lane"}
    order = ready_order(shop, recipient=recipient)

    result = shipment_purchase(order_id=order.pk)

    assert result.state == "failed"
    order.refresh_from_db()
    assert order.status == "needs_attention"
    assert "EasyPost could not verify the buyer's address" in order.attention_reason
    assert easypost_standin.labels_bought == 0
