"""`POST /webhooks/carriers/easypost/?token=<the carrier account's token>`: `X-Hmac-Signature:
hmac-sha256-hex=<hex>` of the raw body keyed with that carrier account's NFKD-normalised secret
(CONTRACT.md §3), stored once in the inbox, deduplicated on the Event id within that account.

The expected signatures are computed here from hmac/hashlib/unicodedata, not with our helper. The
request itself never sends anything to the broker (the relay does): the captured on-commit
callbacks show that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata

import pytest
from django.test import Client

from accounts.tests.factories import AccountFactory
from creatorflow.inbox.models import InboundEvent
from shipping.models import CarrierAccount, webhook_token_hash

URL = "/webhooks/carriers/easypost/"
TOKEN = "ep-token-for-this-account-0001"
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


def post(body: bytes, signature: str | None, token: str | None = TOKEN):
    headers = {"X-Hmac-Signature": signature} if signature is not None else {}
    url = URL if token is None else f"{URL}?token={token}"
    return Client().post(url, data=body, content_type="application/json", headers=headers)


def easypost_account(*, token: str, secret: str, provider: str = "easypost") -> CarrierAccount:
    return CarrierAccount.objects.create(
        account=AccountFactory(),
        provider=provider,
        name=f"{provider} {token[:6]}",
        api_key="EZTK-test",
        webhook_token_hash=webhook_token_hash(token),
        webhook_secret=secret,
    )


@pytest.fixture
def webhook_secret(db):
    assert unicodedata.normalize("NFKD", SECRET) != SECRET  # the test means something only if so
    easypost_account(token=TOKEN, secret=SECRET)
    return SECRET


@pytest.mark.django_db
def test_a_signed_event_is_stored_once_in_the_inbox(webhook_secret, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as dispatched:
        response = post(BODY, sign(BODY))

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    carrier_account = CarrierAccount.objects.get()
    assert (event.provider, event.external_id, event.event_type, event.source) == (
        "easypost",
        f"{carrier_account.pk}:evt_5f6e0b8a1c2d4e3f",
        "tracker.updated",
        str(carrier_account.pk),
    )
    assert event.body_bytes == BODY
    assert dispatched == []  # the relay sends it; the request waited on nothing
    assert event.dispatched_at is None


@pytest.mark.django_db
def test_the_same_event_again_is_answered_alike_and_not_stored_twice(webhook_secret):
    assert post(BODY, sign(BODY)).status_code == 200

    response = post(BODY, sign(BODY))

    assert response.status_code == 200
    assert InboundEvent.objects.filter(provider="easypost").count() == 1


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
def test_an_account_without_a_secret_is_refused_everything():
    # given an EasyPost account whose webhook secret was never issued
    easypost_account(token=TOKEN, secret="")

    # when anything arrives, even "signed" with the empty key, then it is refused
    assert post(BODY, sign(BODY, "")).status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("token", [None, "", "not-a-token-of-anyone", "x" * 65])
def test_a_missing_or_unknown_token_is_401(webhook_secret, token):
    assert post(BODY, sign(BODY), token=token).status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_another_providers_token_is_401():
    # given a Shippo account whose token someone sends to the EasyPost endpoint
    easypost_account(token="shippo-token-0002", secret=SECRET, provider="shippo")

    assert post(BODY, sign(BODY), token="shippo-token-0002").status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_one_accounts_event_id_cannot_pre_empt_anothers(webhook_secret):
    # given tenant A's event already stored, and tenant B (another account) sends the same Event id
    assert post(BODY, sign(BODY)).status_code == 200
    easypost_account(token="tenant-b-token-0003", secret="whsec-b")

    # when B's copy arrives, signed with B's own secret
    response = post(BODY, sign(BODY, "whsec-b"), token="tenant-b-token-0003")

    # then it is stored for B: each account's events are deduplicated on their own
    assert response.status_code == 200
    assert sorted(InboundEvent.objects.values_list("source", flat=True)) == sorted(
        str(pk) for pk in CarrierAccount.objects.values_list("pk", flat=True)
    )


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
    assert InboundEvent.objects.get().external_id.endswith(":evt_from_standin")
