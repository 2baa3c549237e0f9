"""The Shippo carrier through the official SDK against the local Shippo stand-in (no mocks)."""

from __future__ import annotations

import io
import socket
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader

from accounts.tests.factories import AccountFactory
from shipping.carriers import carrier_for
from shipping.carriers.base import Address, BuyRequest, CarrierError, CarrierTimeout, Parcel
from shipping.carriers.shippo import ShippoCarrier
from shipping.models import CarrierAccount, Provider

FROM = Address(
    name="Glow Lab",
    street1="500 Howard St",
    city="San Francisco",
    state="CA",
    postal_code="94105",
    country="US",
)
TO = Address(
    name="Ana Ruiz", street1="20 W 34th St", city="New York", state="NY", postal_code="10001", country="US"
)
PARCEL = Parcel(length_mm=254, width_mm=152, height_mm=51, weight_grams=340)  # 10 × 6 × 2 in, 12 oz


def carrier_on(standin, *, timeout: float = 5.0, api_key: str | None = None) -> ShippoCarrier:
    key = standin.api_key if api_key is None else api_key
    return ShippoCarrier(api_key=key, base_url=standin.base_url, timeout=timeout)


def get_rates(carrier, parcel=PARCEL):
    return carrier.rates(from_address=FROM, to_address=TO, parcel=parcel, reference="TT-1001")


def buy_request(rate, *, key: str = "attempt-1", label_format: str = "pdf") -> BuyRequest:
    return BuyRequest(
        rate=rate,
        idempotency_key=key,
        label_format=label_format,
        from_address=FROM,
        to_address=TO,
        parcel=PARCEL,
        reference="TT-1001",
    )


def cheapest(rates):
    return min(rates, key=lambda r: r.amount)


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# --- rates --------------------------------------------------------------------------------------


def test_rates_come_back_one_per_service_with_shippo_ids(shippo_standin):
    # when we ask for rates for a 12 oz parcel
    rates = get_rates(carrier_on(shippo_standin))

    # then every service Shippo offered is a Rate in our terms
    assert {(r.carrier, r.service) for r in rates} == {
        ("USPS", "Ground Advantage"),
        ("USPS", "Priority Mail"),
        ("UPS", "Ground"),
        ("FedEx", "FedEx Ground"),
    }
    ground = next(r for r in rates if r.service == "Ground Advantage")
    assert ground.amount == Decimal("7.71") and isinstance(ground.amount, Decimal)
    assert ground.currency == "USD" and ground.est_days == 5
    [shipment_id] = shippo_standin.shipments
    assert {r.provider_shipment_id for r in rates} == {shipment_id}
    assert {r.rate_id for r in rates} == set(shippo_standin.rates)
    # and the parcel went out in Shippo's inches and ounces
    sent = shippo_standin.shipments[shipment_id]["parcels"][0]
    assert (sent["length"], sent["width"], sent["height"], sent["distance_unit"]) == (
        "10.0",
        "6.0",
        "2.0",
        "in",
    )
    assert (sent["weight"], sent["mass_unit"]) == ("12.0", "oz")
    assert shippo_standin.shipments[shipment_id]["metadata"] == "TT-1001"


def test_a_heavier_parcel_costs_more(shippo_standin):
    carrier = carrier_on(shippo_standin)
    light = cheapest(get_rates(carrier))
    heavy = cheapest(get_rates(carrier, Parcel(length_mm=254, width_mm=152, height_mm=51, weight_grams=2000)))
    assert heavy.amount > light.amount


# --- buying -------------------------------------------------------------------------------------


def test_buy_returns_a_4x6_pdf_label_with_the_tracking_number(shippo_standin):
    # given a rate
    carrier = carrier_on(shippo_standin)
    rate = cheapest(get_rates(carrier))

    # when the label is bought
    label = carrier.buy(buy_request(rate, key="attempt-pdf"))

    # then it is the stand-in's transaction, with a real PDF naming the tracking number
    [transaction] = shippo_standin.transactions.values()
    assert label.provider_label_id == transaction["object_id"]
    assert label.tracking_number == transaction["tracking_number"] != ""
    assert transaction["metadata"] == "attempt-pdf"
    assert transaction["label_file_type"] == "PDF_4x6"
    assert label.label_format == "pdf" and label.label_bytes.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(label.label_bytes))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (288, 432)  # 4 × 6 inches
    assert label.tracking_number in pdf_text(label.label_bytes)
    assert (label.carrier, label.service, label.amount) == (rate.carrier, rate.service, rate.amount)
    assert label.provider_shipment_id == rate.provider_shipment_id
    assert label.label_url == transaction["label_url"]
    assert label.tracking_number in label.tracking_url


def test_buy_in_zpl_returns_printer_text(shippo_standin):
    carrier = carrier_on(shippo_standin)
    label = carrier.buy(buy_request(cheapest(get_rates(carrier)), label_format="zpl"))

    assert label.label_format == "zpl"
    assert label.label_bytes.startswith(b"^XA") and label.tracking_number.encode() in label.label_bytes
    [transaction] = shippo_standin.transactions.values()
    assert transaction["label_file_type"] == "ZPLII"


def test_a_refused_purchase_is_a_permanent_error_with_shippos_message(shippo_standin):
    # given Shippo will answer the purchase with an ERROR transaction
    carrier = carrier_on(shippo_standin)
    rate = cheapest(get_rates(carrier))
    shippo_standin.refuse_next_purchase("The recipient address could not be validated by USPS.")

    # when we buy
    with pytest.raises(CarrierError) as caught:
        carrier.buy(buy_request(rate))

    # then the error says why, and another carrier should be tried rather than this one again
    assert "could not be validated by USPS" in caught.value.message
    assert caught.value.retryable is False and caught.value.code == "purchase_failed"


def test_a_queued_purchase_is_awaited(shippo_standin):
    # given Shippo answers QUEUED first (the carrier is slow to issue the label)
    carrier = carrier_on(shippo_standin)
    rate = cheapest(get_rates(carrier))
    shippo_standin.queue_next_purchase()

    # when we buy, then we get the label once the transaction has succeeded
    label = carrier.buy(buy_request(rate))
    assert label.tracking_number and label.label_bytes.startswith(b"%PDF")
    assert ("GET", f"/transactions/{label.provider_label_id}") in shippo_standin.calls


# --- timeouts and reconciliation ----------------------------------------------------------------


def test_a_purchase_that_times_out_after_shippo_bought_it_is_found_again(shippo_standin):
    # given Shippo records the purchase, then answers after we gave up
    carrier = carrier_on(shippo_standin)
    rate = cheapest(get_rates(carrier))
    shippo_standin.delay_next_purchase_after_recording(seconds=3.0)
    request = buy_request(rate, key="attempt-timeout")

    # when we buy with a short timeout, the outcome is unknown
    with pytest.raises(CarrierTimeout) as caught:
        carrier_on(shippo_standin, timeout=0.5).buy(request)
    assert caught.value.retryable is True and caught.value.code == "timeout"

    # then the label Shippo did buy is found with the same request, and nothing new is bought
    label = carrier.find_label(request)
    [transaction] = shippo_standin.transactions.values()
    assert label is not None
    assert label.provider_label_id == transaction["object_id"]
    assert label.tracking_number == transaction["tracking_number"]
    assert label.tracking_number in pdf_text(label.label_bytes)
    assert len(shippo_standin.transactions) == 1


def test_find_label_is_none_when_nothing_was_bought(shippo_standin):
    carrier = carrier_on(shippo_standin)
    rates = get_rates(carrier)
    carrier.buy(buy_request(rates[0], key="bought"))

    assert carrier.find_label(buy_request(rates[1], key="never-bought")) is None


def test_find_label_ignores_a_failed_purchase(shippo_standin):
    carrier = carrier_on(shippo_standin)
    rate = cheapest(get_rates(carrier))
    shippo_standin.refuse_next_purchase()
    with pytest.raises(CarrierError):
        carrier.buy(buy_request(rate, key="refused"))

    assert carrier.find_label(buy_request(rate, key="refused")) is None


def test_find_label_follows_next_pages(shippo_standin):
    # given Shippo pages at one transaction whatever we ask for
    shippo_standin.max_page_size = 1
    carrier = carrier_on(shippo_standin)
    rate = cheapest(get_rates(carrier))
    bought = carrier.buy(buy_request(rate, key="first"))
    shippo_standin.refuse_next_purchase()
    with pytest.raises(CarrierError):
        carrier.buy(buy_request(rate, key="second"))

    # when we look for the older purchase, then the second page is read to find it
    found = carrier.find_label(buy_request(rate, key="first"))
    assert found is not None and found.provider_label_id == bought.provider_label_id
    assert shippo_standin.calls.count(("GET", "/transactions")) == 2


def test_a_slow_answer_is_a_timeout(shippo_standin):
    shippo_standin.delay_next(seconds=2.0)
    with pytest.raises(CarrierTimeout):
        get_rates(carrier_on(shippo_standin, timeout=0.5))


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [(500, "provider_error"), (503, "provider_error"), (429, "rate_limited")]
)
def test_server_errors_and_rate_limits_are_retryable(shippo_standin, status, code):
    shippo_standin.fail_next(status=status)

    with pytest.raises(CarrierError) as caught:
        get_rates(carrier_on(shippo_standin))

    assert caught.value.retryable is True
    assert (caught.value.code, caught.value.status) == (code, status)
    assert not isinstance(caught.value, CarrierTimeout)


def test_a_bad_api_key_is_not_retryable_and_says_so(shippo_standin):
    with pytest.raises(CarrierError) as caught:
        get_rates(carrier_on(shippo_standin, api_key="shippo_live_wrong"))

    assert caught.value.retryable is False
    assert (caught.value.code, caught.value.status) == ("auth", 401)
    assert "API key" in caught.value.message


def test_a_rejected_request_carries_shippos_reason(shippo_standin):
    # a rate Shippo does not know: a 400 with a field error
    carrier = carrier_on(shippo_standin)
    rate = cheapest(get_rates(carrier))
    unknown = replace(rate, rate_id="0" * 32)

    with pytest.raises(CarrierError) as caught:
        carrier.buy(buy_request(unknown))

    assert caught.value.retryable is False and caught.value.status == 400
    assert "does not exist" in caught.value.message


def test_an_unreachable_shippo_is_retryable():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    carrier = ShippoCarrier(api_key="shippo_test_x", base_url=f"http://127.0.0.1:{port}", timeout=2)

    with pytest.raises(CarrierError) as caught:
        carrier.test_connection()

    assert caught.value.retryable is True and caught.value.code == "unreachable"


# --- void, tracking, addresses, connection ------------------------------------------------------


def test_void_asks_shippo_for_a_refund(shippo_standin):
    # given a bought label
    carrier = carrier_on(shippo_standin)
    label = carrier.buy(buy_request(cheapest(get_rates(carrier))))

    # when it is voided, then Shippo accepted the refund
    accepted = carrier.void(
        label_id=label.provider_label_id,
        shipment_id=label.provider_shipment_id,
        tracking_number=label.tracking_number,
    )
    assert accepted is True
    [refund] = shippo_standin.refunds.values()
    assert refund["transaction"] == label.provider_label_id
    assert shippo_standin.transactions[label.provider_label_id]["status"] == "REFUNDPENDING"

    # and voiding it again is refused with Shippo's reason
    with pytest.raises(CarrierError) as caught:
        carrier.void(label_id=label.provider_label_id, shipment_id="", tracking_number=label.tracking_number)
    assert caught.value.retryable is False and "cannot be refunded" in caught.value.message


def test_track_returns_the_history_in_our_vocabulary(shippo_standin):
    # given a bought label the carrier has scanned
    carrier = carrier_on(shippo_standin)
    label = carrier.buy(buy_request(cheapest(get_rates(carrier))))
    location = {"city": "Secaucus", "state": "NJ", "zip": "07094", "country": "US"}
    shippo_standin.add_tracking_status(
        label.tracking_number, "TRANSIT", details="Arrived at hub", location=location
    )
    shippo_standin.add_tracking_status(
        label.tracking_number, "TRANSIT", details="Out for delivery", substatus="out_for_delivery"
    )
    shippo_standin.add_tracking_status(label.tracking_number, "DELIVERED", details="Delivered, front door")

    # when we track it
    updates = carrier.track(tracking_number=label.tracking_number, carrier=label.carrier)

    # then every status is there, oldest first
    assert [u.status for u in updates] == ["pre_transit", "in_transit", "out_for_delivery", "delivered"]
    assert updates[1].location == "Secaucus, NJ, 07094, US"
    assert updates[-1].message == "Delivered, front door"
    assert all(u.tracking_number == label.tracking_number and u.occurred_at.tzinfo for u in updates)
    assert len({u.event_id for u in updates}) == 4


def test_verify_address_reports_shippos_problems(shippo_standin):
    carrier = carrier_on(shippo_standin)
    bad = Address(
        name="Ana", street1="Main Street", city="Springfield", state="IL", postal_code="62", country="US"
    )

    check = carrier.verify_address(bad)

    assert check.ok is False
    assert len(check.problems) == 2
    assert any("house number" in p for p in check.problems)
    assert any("ZIP code" in p for p in check.problems)


def test_verify_address_accepts_a_good_address(shippo_standin):
    check = carrier_on(shippo_standin).verify_address(TO)

    assert check.ok is True and check.problems == () and check.suggested is None


def test_test_connection_names_the_carriers(shippo_standin):
    description = carrier_on(shippo_standin).test_connection()

    assert "Shippo" in description and "USPS" in description and "FedEx" in description
    assert ("GET", "/carrier_accounts") in shippo_standin.calls


def test_test_connection_with_a_bad_key_fails(shippo_standin):
    with pytest.raises(CarrierError) as caught:
        carrier_on(shippo_standin, api_key="nope").test_connection()
    assert caught.value.code == "auth"


@pytest.mark.django_db
def test_carrier_for_a_shippo_account_reaches_the_standin(shippo_standin):
    # given a Shippo carrier account holding the stand-in's key (SHIPPO_API_BASE_URL set by the fixture)
    account = CarrierAccount.objects.create(
        account=AccountFactory(), provider=Provider.SHIPPO, name="Shippo", api_key=shippo_standin.api_key
    )

    # when the carrier is built the way the pipeline builds it, then it talks to the stand-in
    carrier = carrier_for(account)
    assert isinstance(carrier, ShippoCarrier) and carrier.provider == "shippo"
    assert len(get_rates(carrier)) == 4
