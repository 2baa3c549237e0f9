"""Every carrier call is one HTTP request bounded by SHIPPING_CARRIER_TIMEOUT: no retry hidden in an
SDK (EasyPost's SDK mounts an adapter that retries a timed-out GET three more times, so one 4 s
lookup took 16 s). Retrying and failing over is the pipeline's job, which it does with backoff.

The stand-ins count the requests they receive, so the tests assert what reached the carrier.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings

from shipping.carriers.base import Address, BuyRequest, CarrierTimeout, Parcel, Rate
from shipping.carriers.easypost import EasyPostCarrier
from shipping.carriers.shippo import ShippoCarrier

TO = Address(
    name="Ada", street1="350 Fifth Avenue", city="New York", state="NY", postal_code="10118", country="US"
)
FROM = Address(
    name="Shop", street1="1 Main St", city="Los Angeles", state="CA", postal_code="90012", country="US"
)
PARCEL = Parcel(length_mm=200, width_mm=150, height_mm=100, weight_grams=500)


def _request(*, shipment_id: str = "shp_unknown", rate_id: str = "rate_unknown") -> BuyRequest:
    rate = Rate(
        carrier="USPS",
        service="Priority",
        amount=Decimal("7.50"),
        currency="USD",
        est_days=2,
        rate_id=rate_id,
        provider_shipment_id=shipment_id,
    )
    return BuyRequest(
        rate=rate,
        idempotency_key="key-1",
        label_format="pdf",
        from_address=FROM,
        to_address=TO,
        parcel=PARCEL,
        reference="order-1",
    )


def test_a_slow_easypost_lookup_is_asked_once_and_times_out(easypost_standin):
    # given an EasyPost that answers nothing in time, several times over
    carrier = EasyPostCarrier(
        api_key=easypost_standin.api_key, base_url=settings.EASYPOST_API_BASE_URL, timeout=0.5
    )
    easypost_standin.slow_next(4, seconds=2)

    # when we look up an earlier purchase (a GET, which the SDK's own adapter would retry)
    with pytest.raises(CarrierTimeout):
        carrier.find_label(_request(shipment_id="shp_slow"))

    # then exactly one request reached EasyPost
    assert easypost_standin.requests == [("GET", "/v2/shipments/shp_slow")]


def test_a_slow_shippo_lookup_is_asked_once_and_times_out(shippo_standin):
    # given a Shippo that answers nothing in time, several times over
    carrier = ShippoCarrier(api_key=shippo_standin.api_key, base_url=shippo_standin.base_url, timeout=0.5)
    shippo_standin.delay_next(4, seconds=2)
    before = len(shippo_standin.calls)

    # when we look up an earlier purchase
    with pytest.raises(CarrierTimeout):
        carrier.find_label(_request(rate_id="rate_slow"))

    # then exactly one request reached Shippo
    assert [path for _, path in shippo_standin.calls[before:]] == ["/transactions"]
