"""The EasyPost carrier through the official SDK against the local EasyPost stand-in (no mocks)."""

from __future__ import annotations

import dataclasses
import io
import json
import socket
from datetime import UTC
from decimal import Decimal

import pytest
from pypdf import PdfReader

from shipping.carriers import carrier_for
from shipping.carriers.base import (
    TRACKING_STATUSES,
    Address,
    BuyRequest,
    CarrierError,
    CarrierTimeout,
    Parcel,
)
from shipping.carriers.easypost import EasyPostCarrier, parse_webhook
from shipping.models import CarrierAccount

SHIP_FROM = Address(
    name="Maple Goods",
    street1="417 Montgomery St",
    city="San Francisco",
    state="CA",
    postal_code="94104",
    country="US",
)
SHIP_TO = Address(
    name="Dana Buyer",
    street1="179 N Harbor Dr",
    city="Redondo Beach",
    state="CA",
    postal_code="90277",
    country="US",
)
BOX = Parcel(length_mm=254, width_mm=203, height_mm=102, weight_grams=907)  # 10x8x4 in, 32 oz


@pytest.fixture
def carrier(easypost_standin, settings):
    return EasyPostCarrier(
        api_key=easypost_standin.api_key, base_url=settings.EASYPOST_API_BASE_URL, timeout=1.0
    )


def get_rates(carrier, parcel=BOX, reference="CF-1001"):
    return carrier.rates(from_address=SHIP_FROM, to_address=SHIP_TO, parcel=parcel, reference=reference)


def buy_request(rate, label_format="pdf") -> BuyRequest:
    return BuyRequest(
        rate=rate,
        idempotency_key="attempt-1",
        label_format=label_format,
        from_address=SHIP_FROM,
        to_address=SHIP_TO,
        parcel=BOX,
        reference="CF-1001",
    )


def pdf_text(content: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(content))
    return reader, "".join(page.extract_text() for page in reader.pages)


# --- rates ---------------------------------------------------------------------------------------


def test_rates_are_one_shipment_s_rates_with_decimal_amounts_and_days(carrier, easypost_standin):
    rates = get_rates(carrier)

    assert [(r.carrier, r.service) for r in rates] == [
        ("USPS", "GroundAdvantage"),
        ("USPS", "Priority"),
        ("UPS", "Ground"),
        ("FedEx", "FEDEX_GROUND"),
    ]
    shipment_ids = {r.provider_shipment_id for r in rates}
    assert len(shipment_ids) == 1 and next(iter(shipment_ids)).startswith("shp_")
    for rate in rates:
        assert (
            isinstance(rate.amount, Decimal)
            and rate.amount > 0
            and rate.amount == rate.amount.quantize(Decimal("0.01"))
        )
        assert rate.currency == "USD"
        assert rate.rate_id.startswith("rate_")
        assert isinstance(rate.est_days, int)
    by_service = {r.service: r for r in rates}
    assert by_service["Priority"].est_days < by_service["GroundAdvantage"].est_days
    # 32 oz is 2 lb: GroundAdvantage is 5.25 + 2 x 1.10
    assert by_service["GroundAdvantage"].amount == Decimal("7.45")


def test_the_shipment_is_sent_in_inches_and_ounces_with_our_reference(carrier, easypost_standin):
    rates = get_rates(carrier, reference="CF-2002")

    shipment = easypost_standin.shipment(rates[0].provider_shipment_id)
    assert shipment["parcel"]["weight"] == pytest.approx(32.0)
    assert (shipment["parcel"]["length"], shipment["parcel"]["width"], shipment["parcel"]["height"]) == (
        10.0,
        8.0,
        4.0,
    )
    assert shipment["reference"] == "CF-2002"
    assert (
        shipment["to_address"]["zip"] == "90277"
        and shipment["from_address"]["street1"] == "417 Montgomery St"
    )
    assert shipment["options"]["label_format"] == "PDF" and shipment["options"]["label_size"] == "4x6"


def test_a_heavier_parcel_costs_more(carrier):
    light = {
        r.service: r.amount for r in get_rates(carrier, parcel=dataclasses.replace(BOX, weight_grams=300))
    }
    heavy = {
        r.service: r.amount for r in get_rates(carrier, parcel=dataclasses.replace(BOX, weight_grams=5000))
    }

    assert all(heavy[service] > light[service] for service in light)


def test_an_invalid_parcel_is_a_readable_non_retryable_error(carrier):
    with pytest.raises(CarrierError) as caught:
        get_rates(carrier, parcel=dataclasses.replace(BOX, weight_grams=0))

    assert caught.value.retryable is False and caught.value.status == 422
    assert caught.value.code == "PARCEL.WEIGHT.INVALID"
    assert "weight" in caught.value.message.lower() and "EasyPost" in caught.value.message


def test_carrier_for_builds_the_easypost_carrier_from_settings(easypost_standin):
    account = CarrierAccount(provider="easypost", name="EasyPost", api_key=easypost_standin.api_key)

    carrier = carrier_for(account)

    assert isinstance(carrier, EasyPostCarrier)
    assert len(get_rates(carrier)) == 4


# --- buying --------------------------------------------------------------------------------------


def test_buy_returns_a_4x6_pdf_label_with_the_tracking_code(carrier, easypost_standin):
    rate = get_rates(carrier)[1]

    label = carrier.buy(buy_request(rate))

    shipment = easypost_standin.shipment(rate.provider_shipment_id)
    assert label.tracking_number == shipment["tracking_code"] and label.tracking_number
    assert label.provider_label_id == shipment["postage_label"]["id"] and label.provider_label_id.startswith(
        "pl_"
    )
    assert label.provider_shipment_id == rate.provider_shipment_id
    assert (label.carrier, label.service, label.amount, label.currency) == (
        "USPS",
        "Priority",
        rate.amount,
        "USD",
    )
    assert label.tracking_url == shipment["tracker"]["public_url"]
    assert label.label_format == "pdf" and label.label_url
    reader, text = pdf_text(label.label_bytes)
    page = reader.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (288.0, 432.0)
    assert label.tracking_number in text


def test_buy_in_zpl_converts_the_label(carrier):
    rate = get_rates(carrier)[2]

    label = carrier.buy(buy_request(rate, label_format="zpl"))

    assert label.label_format == "zpl"
    text = label.label_bytes.decode()
    assert text.startswith("^XA") and text.rstrip().endswith("^XZ")
    assert label.tracking_number in text


def test_buying_the_same_shipment_twice_returns_the_same_label(carrier, easypost_standin):
    rate = get_rates(carrier)[0]
    first = carrier.buy(buy_request(rate))

    # when a retry buys again (even another rate of the same shipment)
    again = carrier.buy(buy_request(rate))
    other_rate = carrier.buy(buy_request(get_rates_for_same_shipment(easypost_standin, rate)))

    assert again.tracking_number == first.tracking_number == other_rate.tracking_number
    assert again.provider_label_id == first.provider_label_id
    assert easypost_standin.buy_calls == 3
    assert easypost_standin.labels_bought == 1


def get_rates_for_same_shipment(standin, rate):
    other = standin.shipment(rate.provider_shipment_id)["rates"][1]
    return dataclasses.replace(rate, rate_id=other["id"], service=other["service"])


def test_a_buy_that_times_out_after_the_purchase_is_found_by_find_label(carrier, easypost_standin):
    rate = get_rates(carrier)[0]
    easypost_standin.slow_buy_after_recording(seconds=3)

    with pytest.raises(CarrierTimeout) as caught:
        carrier.buy(buy_request(rate))

    assert caught.value.retryable is True and caught.value.code == "timeout"
    # then reconciling finds what EasyPost bought, and nothing more is bought
    found = carrier.find_label(buy_request(rate))
    shipment = easypost_standin.shipment(rate.provider_shipment_id)
    assert found is not None and found.tracking_number == shipment["tracking_code"]
    assert found.tracking_number in pdf_text(found.label_bytes)[1]
    assert carrier.buy(buy_request(rate)).tracking_number == found.tracking_number
    assert easypost_standin.labels_bought == 1


def test_find_label_is_none_before_a_purchase_and_for_an_unknown_shipment(carrier):
    rate = get_rates(carrier)[0]

    assert carrier.find_label(buy_request(rate)) is None
    assert (
        carrier.find_label(buy_request(dataclasses.replace(rate, provider_shipment_id="shp_unknown"))) is None
    )


def test_buying_a_rate_that_is_not_the_shipment_s_is_not_retryable(carrier, easypost_standin):
    rate = get_rates(carrier)[0]

    with pytest.raises(CarrierError) as caught:
        carrier.buy(buy_request(dataclasses.replace(rate, rate_id="rate_other")))

    assert caught.value.retryable is False and caught.value.status == 422
    assert easypost_standin.labels_bought == 0


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_or_rate_limit_is_retryable_and_the_next_call_works(carrier, easypost_standin, status):
    easypost_standin.fail_next(1, status=status)

    with pytest.raises(CarrierError) as caught:
        get_rates(carrier)

    assert caught.value.retryable is True and caught.value.status == status
    assert not isinstance(caught.value, CarrierTimeout)
    assert "EasyPost" in caught.value.message and "support@" not in caught.value.message
    assert len(get_rates(carrier)) == 4


def test_a_wrong_api_key_is_not_retryable(easypost_standin, settings):
    carrier = EasyPostCarrier(api_key="EZTKwrong", base_url=settings.EASYPOST_API_BASE_URL, timeout=1.0)

    with pytest.raises(CarrierError) as caught:
        get_rates(carrier)

    assert caught.value.retryable is False and caught.value.status == 401
    assert "API key" in caught.value.message


def test_no_answer_in_time_is_a_carrier_timeout(carrier, easypost_standin):
    easypost_standin.slow_next(1, seconds=3)

    with pytest.raises(CarrierTimeout) as caught:
        get_rates(carrier)

    assert caught.value.retryable is True
    assert len(get_rates(carrier)) == 4  # only that one request was slow


def test_an_unreachable_easypost_is_a_retryable_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    carrier = EasyPostCarrier(api_key="EZTKany", base_url=f"http://127.0.0.1:{port}/v2", timeout=1.0)

    with pytest.raises(CarrierError) as caught:
        carrier.test_connection()

    assert caught.value.retryable is True and caught.value.code == "connection"
    assert not isinstance(caught.value, CarrierTimeout)


def test_a_missing_api_key_is_refused_before_calling(easypost_standin, settings):
    carrier = EasyPostCarrier(api_key="", base_url=settings.EASYPOST_API_BASE_URL, timeout=1.0)

    with pytest.raises(CarrierError) as caught:
        carrier.test_connection()

    assert caught.value.code == "no_api_key" and easypost_standin.requests == []


# --- void, tracking, addresses, connection -------------------------------------------------------


def test_void_refunds_a_bought_label(carrier, easypost_standin):
    label = carrier.buy(buy_request(get_rates(carrier)[0]))

    accepted = carrier.void(
        label_id=label.provider_label_id,
        shipment_id=label.provider_shipment_id,
        tracking_number=label.tracking_number,
    )

    assert accepted is True
    assert easypost_standin.shipment(label.provider_shipment_id)["refund_status"] == "submitted"


def test_void_of_a_parcel_already_moving_is_refused(carrier, easypost_standin):
    label = carrier.buy(buy_request(get_rates(carrier)[0]))
    easypost_standin.advance_tracker(label.tracking_number, "in_transit")

    accepted = carrier.void(
        label_id="", shipment_id=label.provider_shipment_id, tracking_number=label.tracking_number
    )

    assert accepted is False


def test_void_of_an_unbought_shipment_is_a_non_retryable_error(carrier):
    rate = get_rates(carrier)[0]

    with pytest.raises(CarrierError) as caught:
        carrier.void(label_id="", shipment_id=rate.provider_shipment_id, tracking_number="")

    assert caught.value.retryable is False and caught.value.status == 422


def test_track_maps_the_history_oldest_first(carrier):
    updates = carrier.track(tracking_number="EZ4000000004", carrier="USPS")

    assert [u.status for u in updates] == ["pre_transit", "in_transit", "out_for_delivery", "delivered"]
    assert all(u.tracking_number == "EZ4000000004" and u.occurred_at.tzinfo is not None for u in updates)
    assert (
        updates[-1].message == "Delivered, In/At Mailbox"
        and updates[-1].location == "SAN FRANCISCO, CA 94107, US"
    )


@pytest.mark.parametrize(
    "code,last_status",
    [("EZ5000000005", "returned"), ("EZ6000000006", "exception"), ("EZ7000000007", "in_transit")],
)
def test_track_maps_returns_and_failures_and_skips_unknown(carrier, code, last_status):
    updates = carrier.track(tracking_number=code, carrier="USPS")

    assert updates[-1].status == last_status
    assert all(u.status in TRACKING_STATUSES for u in updates)


def test_track_follows_a_bought_label(carrier, easypost_standin):
    label = carrier.buy(buy_request(get_rates(carrier)[0]))
    easypost_standin.advance_tracker(label.tracking_number, "in_transit", city="OAKLAND")

    updates = carrier.track(tracking_number=label.tracking_number, carrier=label.carrier)

    assert [u.status for u in updates] == ["pre_transit", "in_transit"]
    assert updates[-1].location.startswith("OAKLAND")


def test_verify_address_reports_easypost_s_problems(carrier):
    bad = dataclasses.replace(SHIP_TO, street1="Harbor Drive", postal_code="9027")

    check = carrier.verify_address(bad)

    assert check.ok is False
    assert check.problems == ("Invalid zip code", "street1: House number is missing")


def test_verify_address_accepts_a_good_address_with_easypost_s_normalised_form(carrier):
    check = carrier.verify_address(SHIP_TO)

    assert check.ok is True and check.problems == ()
    assert check.suggested is not None and check.suggested.street1 == "179 N HARBOR DR"
    assert check.suggested.name == SHIP_TO.name and check.suggested.postal_code == "90277"


def test_test_connection_names_the_account(carrier):
    assert carrier.test_connection() == "Connected to EasyPost as Stand-in Shipper (shipper@example.com)"


def test_test_connection_with_a_bad_key_explains_the_key(easypost_standin, settings):
    carrier = EasyPostCarrier(api_key="EZTKrevoked", base_url=settings.EASYPOST_API_BASE_URL, timeout=1.0)

    with pytest.raises(CarrierError) as caught:
        carrier.test_connection()

    assert caught.value.status == 401 and caught.value.retryable is False
    assert caught.value.message == "EasyPost rejected the API key: check the key in your carrier settings."


# --- parse_webhook -------------------------------------------------------------------------------


def tracker_event(details, *, description="tracker.updated", event_id="evt_1") -> bytes:
    return json.dumps(
        {
            "object": "Event",
            "id": event_id,
            "description": description,
            "result": {
                "object": "Tracker",
                "id": "trk_1",
                "tracking_code": "9400100000000000000042",
                "carrier": "USPS",
                "status": details[-1]["status"] if details else "unknown",
                "tracking_details": details,
            },
        }
    ).encode()


def detail(status, when, message="", city="AUSTIN"):
    return {
        "status": status,
        "message": message or status,
        "datetime": when,
        "tracking_location": {"city": city, "state": "TX", "country": "US", "zip": "78701"},
    }


def test_parse_webhook_maps_easypost_statuses_to_ours():
    body = tracker_event(
        [
            detail("pre_transit", "2025-03-01T10:00:00Z"),
            detail("in_transit", "2025-03-02T10:00:00Z"),
            detail("unknown", "2025-03-02T11:00:00Z"),
            detail("out_for_delivery", "2025-03-03T08:00:00Z"),
            detail("failure", "2025-03-03T12:00:00Z"),
            detail("error", "2025-03-03T13:00:00Z"),
            detail("return_to_sender", "2025-03-04T09:00:00Z"),
            detail("delivered", "2025-03-06T09:30:00Z", message="Delivered, Front Door"),
        ]
    )

    updates = parse_webhook(body)

    assert [u.status for u in updates] == [
        "pre_transit",
        "in_transit",
        "out_for_delivery",
        "exception",
        "exception",
        "returned",
        "delivered",
    ]
    last = updates[-1]
    assert last.tracking_number == "9400100000000000000042" and last.carrier == "USPS"
    assert last.raw_status == "delivered" and last.message == "Delivered, Front Door"
    assert last.event_id == "evt_1" and last.location == "AUSTIN, TX 78701, US"
    assert last.occurred_at.isoformat() == "2025-03-06T09:30:00+00:00" and last.occurred_at.tzinfo == UTC


def test_parse_webhook_puts_the_newest_status_last_whatever_the_order_sent():
    body = tracker_event(
        [detail("delivered", "2025-03-06T09:30:00Z"), detail("in_transit", "2025-03-02T10:00:00-05:00")]
    )

    updates = parse_webhook(body)

    assert [u.status for u in updates] == ["in_transit", "delivered"]
    assert updates[0].occurred_at.isoformat() == "2025-03-02T15:00:00+00:00"


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(
            {"object": "Event", "id": "evt_2", "description": "batch.updated", "result": {"object": "Batch"}}
        ),
        json.dumps(
            {
                "object": "Event",
                "id": "evt_3",
                "description": "refund.successful",
                "result": {"object": "Refund"},
            }
        ),
        "not json",
        "[1, 2]",
    ],
)
def test_parse_webhook_ignores_everything_but_tracker_events(body):
    assert parse_webhook(body.encode()) == []


def test_parse_webhook_reads_the_stand_in_s_events(easypost_standin):
    easypost_standin.advance_tracker("EZ2000000002", "out_for_delivery")

    updates = parse_webhook(easypost_standin.tracker_event("EZ2000000002", event_id="evt_standin"))

    assert [u.status for u in updates] == ["pre_transit", "in_transit", "out_for_delivery"]
    assert {u.event_id for u in updates} == {"evt_standin"}
