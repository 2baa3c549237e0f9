"""`POST /webhooks/carriers/easypost/`: `X-Hmac-Signature: hmac-sha256-hex=<hex>` of the raw body keyed
with the NFKD-normalised secret (CONTRACT.md §3), stored once in the inbox, deduplicated on the Event id.

The expected signatures are computed here from hmac/hashlib/unicodedata, not with our helper. The
inbox's processing task is only scheduled on commit, which the test transaction never reaches; the
callbacks are captured (not run) to see what would be dispatched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata

import pytest
from django.test import Client

from creatorflow.inbox.models import InboundEvent

URL = "/webhooks/carriers/easypost/"
# A precomposed "é" and the "ﬁ" ligature: NFKD turns them into "e" + U+0301 and "fi".
SECRET = "whsec-\u00e9t\u00e9-\ufb01le-42"
BODY = json.dumps(
    {
        "object": "Event",
        "id": "evt_5f6e0b8a1c2d4e3f",
        "mode": "test",
        "description": "tracker.updated",
        "result": {
            "object": "Tracker",
            "id": "trk_1",
            "tracking_code": "9400100000000000000042",
            "carrier": "USPS",
            "status": "in_transit",
            "tracking_details": [
                {
                    "status": "in_transit",
                    "message": "Arrived at USPS Regional Facility",
                    "datetime": "2025-03-02T10:00:00Z",
                    "tracking_location": {"city": "AUSTIN", "state": "TX", "country": "US", "zip": "78701"},
                }
            ],
        },
    }
).encode()


def sign(body: bytes, secret: str = SECRET, *, normalise: bool = True) -> str:
    key = unicodedata.normalize("NFKD", secret) if normalise else secret
    return "hmac-sha256-hex=" + hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def post(body: bytes, signature: str | None):
    headers = {"X-Hmac-Signature": signature} if signature is not None else {}
    return Client().post(URL, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def webhook_secret(settings):
    assert unicodedata.normalize("NFKD", SECRET) != SECRET  # the test means something only if so
    settings.EASYPOST_WEBHOOK_SECRET = SECRET
    return SECRET


@pytest.mark.django_db
def test_a_signed_event_is_stored_once_in_the_inbox(webhook_secret, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as dispatched:
        response = post(BODY, sign(BODY))

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.provider, event.external_id, event.event_type) == (
        "easypost",
        "evt_5f6e0b8a1c2d4e3f",
        "tracker.updated",
    )
    assert event.body_bytes == BODY
    assert len(dispatched) == 1  # processing is handed to the inbox task after commit


@pytest.mark.django_db
def test_the_same_event_again_is_answered_alike_and_not_stored_twice(
    webhook_secret, django_capture_on_commit_callbacks
):
    assert post(BODY, sign(BODY)).status_code == 200

    with django_capture_on_commit_callbacks() as dispatched:
        response = post(BODY, sign(BODY))

    assert response.status_code == 200
    assert InboundEvent.objects.filter(provider="easypost").count() == 1
    assert dispatched == []


@pytest.mark.django_db
def test_a_flipped_byte_in_the_body_is_401_and_stores_nothing(webhook_secret):
    signature = sign(BODY)
    tampered = BODY.replace(b"in_transit", b"in_transiu", 1)
    assert len(tampered) == len(BODY) and tampered != BODY

    response = post(tampered, signature)

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case", ["missing header", "empty header", "no prefix", "wrong secret", "secret not normalised"]
)
def test_a_missing_or_wrong_signature_is_401_and_stores_nothing(webhook_secret, case):
    signature = {
        "missing header": None,
        "empty header": "",
        "no prefix": sign(BODY).removeprefix("hmac-sha256-hex="),
        "wrong secret": sign(BODY, "whsec-other"),
        "secret not normalised": sign(BODY, normalise=False),
    }[case]

    response = post(BODY, signature)

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_without_a_configured_secret_everything_is_refused(settings):
    settings.EASYPOST_WEBHOOK_SECRET = ""

    response = post(BODY, sign(BODY, ""))

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [b"this is not json", b'["an", "array"]', b'{"object": "Event", "description": "x"}']
)
def test_a_signed_body_that_is_not_an_event_is_400_and_stores_nothing(webhook_secret, body):
    response = post(body, sign(body))

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_an_event_from_the_stand_in_is_accepted(webhook_secret, easypost_standin):
    easypost_standin.advance_tracker("EZ2000000002", "out_for_delivery")
    body = easypost_standin.tracker_event("EZ2000000002", event_id="evt_from_standin")

    response = post(body, sign(body))

    assert response.status_code == 200
    assert InboundEvent.objects.get().external_id == "evt_from_standin"
