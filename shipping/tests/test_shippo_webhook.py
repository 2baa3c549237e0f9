"""Shippo's track_updated webhook: `parse_webhook` in our tracking vocabulary, and the endpoint
`POST /webhooks/carriers/shippo/?token=` (per carrier account token, stored once in the inbox)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from accounts.tests.factories import AccountFactory
from creatorflow.inbox.models import InboundEvent
from shipping.carriers.base import TRACKING_STATUSES
from shipping.carriers.shippo import parse_webhook
from shipping.models import CarrierAccount, Provider, webhook_token_hash
from shipping.services.webhook_credentials import webhook_credentials_issue
from shipping.standins.shippo import ShippoStandin, track_updated_event

URL = "/webhooks/carriers/shippo/"


def status_entry(
    status, *, date="2025-03-03T15:00:00Z", details="", substatus=None, location=None, object_id=None
):
    return {
        "object_id": object_id or f"ts-{status.lower()}-{date}",
        "object_created": date,
        "object_updated": date,
        "status": status,
        "status_details": details,
        "status_date": date,
        "substatus": {"code": substatus, "text": substatus, "action_required": False} if substatus else None,
        "location": location,
    }


def track_updated(
    current, history=None, *, event="track_updated", test=False, tracking_number="9400111202555842761234"
):
    return json.dumps(
        {
            "event": event,
            "test": test,
            "data": {
                "carrier": "usps",
                "tracking_number": tracking_number,
                "servicelevel": {"token": "usps_priority", "name": "Priority Mail"},
                "tracking_status": current,
                "tracking_history": history if history is not None else [current],
                "transaction": "f0c8a8e4bc1e4b9c8a6f6f6bd4b0e3a1",
                "metadata": None,
                "messages": [],
            },
        }
    ).encode()


# --- parse_webhook ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shippo_status", "substatus", "details", "ours"),
    [
        ("PRE_TRANSIT", None, "Label created", "pre_transit"),
        ("TRANSIT", None, "Arrived at USPS facility", "in_transit"),
        ("TRANSIT", "out_for_delivery", "On its way", "out_for_delivery"),
        ("TRANSIT", None, "Out for Delivery, Expected Delivery by 9:00pm", "out_for_delivery"),
        ("DELIVERED", None, "Delivered, In/At Mailbox", "delivered"),
        ("RETURNED", "return_to_sender", "Returned to sender", "returned"),
        ("FAILURE", "package_damaged", "Damaged in transit", "exception"),
    ],
)
def test_each_shippo_status_maps_to_ours(shippo_status, substatus, details, ours):
    body = track_updated(status_entry(shippo_status, details=details, substatus=substatus))

    [update] = parse_webhook(body)

    assert update.status == ours and ours in TRACKING_STATUSES
    assert update.raw_status == shippo_status
    assert update.message == details
    assert update.tracking_number == "9400111202555842761234" and update.carrier == "usps"


def test_an_update_carries_time_place_and_the_event_id():
    location = {"city": "Brooklyn", "state": "NY", "zip": "11201", "country": "US"}
    current = status_entry("DELIVERED", date="2025-03-04T18:22:05Z", location=location, object_id="ts-77")

    [update] = parse_webhook(track_updated(current))

    assert update.occurred_at == datetime(2025, 3, 4, 18, 22, 5, tzinfo=UTC)
    assert update.location == "Brooklyn, NY, 11201, US"
    assert update.event_id == "ts-77"


def test_the_whole_history_comes_oldest_first_and_unknown_is_skipped():
    history = [
        status_entry("UNKNOWN", date="2025-03-01T08:00:00Z"),
        status_entry("PRE_TRANSIT", date="2025-03-01T09:00:00Z"),
        status_entry("TRANSIT", date="2025-03-02T10:00:00Z"),
    ]
    current = status_entry("DELIVERED", date="2025-03-03T11:00:00Z")  # not yet in the history

    updates = parse_webhook(track_updated(current, [history[2], history[0], history[1]]))

    assert [u.status for u in updates] == ["pre_transit", "in_transit", "delivered"]
    assert len({u.event_id for u in updates}) == 3


def test_only_unknown_gives_nothing():
    assert parse_webhook(track_updated(status_entry("UNKNOWN"))) == []


@pytest.mark.parametrize(
    "body",
    [
        track_updated(status_entry("DELIVERED"), event="transaction_created"),
        track_updated(status_entry("DELIVERED"), event="batch_purchased"),
        b"not json",
        b"[]",
        b'{"event": "track_updated", "data": "nope"}',
        b'{"event": "track_updated", "data": {"tracking_status": null}}',
    ],
)
def test_other_events_and_unusable_bodies_give_nothing(body):
    assert parse_webhook(body) == []


def test_a_test_webhook_is_marked_as_such():
    [update] = parse_webhook(track_updated(status_entry("TRANSIT"), test=True))
    assert update.extra.get("test") is True


def test_the_standins_track_round_trips_through_parse_webhook():
    # the body the stand-in would send for a parcel's history, as Shippo does
    standin = ShippoStandin()
    standin.add_tracking_status("9400000000000000000042", "PRE_TRANSIT", details="Label created")
    standin.add_tracking_status(
        "9400000000000000000042", "TRANSIT", details="Out for delivery", substatus="out_for_delivery"
    )
    body = track_updated_event(standin.track_payload("9400000000000000000042", "usps"))

    assert [u.status for u in parse_webhook(body)] == ["pre_transit", "out_for_delivery"]


# --- the endpoint -------------------------------------------------------------------------------


def with_token(carrier_account: CarrierAccount) -> CarrierAccount:
    """Issue the account's webhook URL token (as the settings page does) and keep it on the object."""
    carrier_account.raw_token = webhook_credentials_issue(carrier_account=carrier_account, actor="test").token
    return carrier_account


@pytest.fixture
def shippo_account(db):
    return with_token(
        CarrierAccount.objects.create(account=AccountFactory(), provider=Provider.SHIPPO, name="Shippo")
    )


def post(client, body: bytes, token: str | None):
    url = URL if token is None else f"{URL}?token={token}"
    return client.post(url, data=body, content_type="application/json")


@pytest.mark.django_db
def test_a_webhook_with_the_accounts_token_is_stored_once(
    client, shippo_account, django_capture_on_commit_callbacks
):
    body = track_updated(status_entry("TRANSIT", details="Departed facility"))

    # when Shippo delivers the event twice (a retry)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = post(client, body, shippo_account.raw_token)
        second = post(client, body, shippo_account.raw_token)

    # then both are answered 200 and there is one stored event, attributed to the carrier account
    assert first.status_code == 200 and second.status_code == 200
    event = InboundEvent.objects.get()
    assert event.provider == "shippo"
    assert event.source == str(shippo_account.pk)
    assert event.event_type == "track_updated"
    assert bytes(event.body_bytes) == body
    assert callbacks == []  # the relay sends it: the request waited on nothing


@pytest.mark.django_db
def test_the_token_is_kept_only_as_a_hash(shippo_account):
    # given an account whose webhook URL token was issued (and shown once)
    row = CarrierAccount.objects.filter(pk=shippo_account.pk).values().get()

    # then the raw token is nowhere in its row, only its SHA-256
    assert shippo_account.raw_token not in json.dumps(row, default=str)
    assert row["webhook_token_hash"] == webhook_token_hash(shippo_account.raw_token)


@pytest.mark.django_db
def test_a_new_token_retires_the_old_one(client, shippo_account):
    # given the account's URL was replaced
    old = shippo_account.raw_token
    with_token(shippo_account)

    # then the old URL is refused and the new one is taken
    body = track_updated(status_entry("TRANSIT"))
    assert post(client, body, old).status_code == 401
    assert post(client, body, shippo_account.raw_token).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["wrong-token", "", None])
def test_a_wrong_or_missing_token_is_refused_and_nothing_stored(client, shippo_account, token):
    response = post(client, track_updated(status_entry("DELIVERED")), token)

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_the_token_of_another_providers_carrier_account_is_refused(client):
    easypost = with_token(
        CarrierAccount.objects.create(account=AccountFactory(), provider=Provider.EASYPOST, name="EasyPost")
    )

    response = post(client, track_updated(status_entry("DELIVERED")), easypost.raw_token)

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_each_account_is_told_apart_by_its_token(client, shippo_account):
    other = with_token(
        CarrierAccount.objects.create(account=AccountFactory(), provider=Provider.SHIPPO, name="Shippo 2")
    )

    post(client, track_updated(status_entry("TRANSIT"), tracking_number="A1"), shippo_account.raw_token)
    post(client, track_updated(status_entry("TRANSIT"), tracking_number="B2"), other.raw_token)

    assert set(InboundEvent.objects.values_list("source", flat=True)) == {
        str(shippo_account.pk),
        str(other.pk),
    }
