"""The base webhook view through Django's test client: verify, store once, answer like the first."""

import json

import pytest
from django.test import Client

from accounts.models import Account
from creatorflow.core.testing_celery import relay_pass
from creatorflow.inbox.models import InboundEvent
from creatorflow.inbox.tests.urls import SIGNATURE_HEADER, sign

pytestmark = [pytest.mark.django_db, pytest.mark.urls("creatorflow.inbox.tests.urls")]


@pytest.fixture
def client():
    # Platforms send no CSRF token: the endpoint must be exempt, so enforce the checks here.
    return Client(enforce_csrf_checks=True)


URL = "/webhooks/test/"


def post(client, body: bytes, signature: str | None = None):
    headers = {SIGNATURE_HEADER: sign(body) if signature is None else signature}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def test_signed_event_is_stored_with_its_exact_raw_body_and_processed(
    client, celery_eager, django_capture_on_commit_callbacks
):
    # given a signed body whose formatting must survive byte for byte
    body = b'{"id": "evt-raw",   "type": "record", "n": 12345678901234567890}'

    # when it is posted
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, body)

    # then it is answered 200 with an empty body and stored verbatim, and the request itself sent
    # nothing to the broker: the event waits for the relay
    assert response.status_code == 200 and response.content == b""
    event = InboundEvent.objects.get(provider="test", external_id="evt-raw")
    assert event.body_bytes == body
    assert event.headers[SIGNATURE_HEADER] == sign(body)
    assert callbacks == []
    assert (event.status, event.dispatched_at) == (InboundEvent.Status.RECEIVED, None)
    # and the relay's next pass gets it processed once
    assert relay_pass() == 1
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.DONE and event.attempts == 1 and not event.ignored
    assert Account.objects.filter(name="effect:evt-raw").count() == 1


def test_duplicate_is_answered_like_the_first_and_not_dispatched_again(client, celery_eager):
    # given an event that was already received and processed
    body = json.dumps({"id": "evt-dup", "type": "record"}).encode()
    first = post(client, body)
    assert relay_pass() == 1

    # when the platform sends it again
    second = post(client, body)

    # then both answers are identical, there is one row, and nothing is sent or run again
    assert (second.status_code, second.content) == (first.status_code, first.content) == (200, b"")
    assert InboundEvent.objects.filter(provider="test", external_id="evt-dup").count() == 1
    assert relay_pass() == 0
    assert Account.objects.filter(name="effect:evt-dup").count() == 1


def test_unknown_event_type_is_stored_and_ignored_not_failed(client, celery_eager):
    # given a signed event of a type nobody handles
    body = json.dumps({"id": "evt-unknown", "type": "no_such_type"}).encode()

    # when it is posted and processed
    response = post(client, body)
    relay_pass()

    # then it is accepted, kept, and marked done + ignored without an error
    assert response.status_code == 200
    event = InboundEvent.objects.get(provider="test", external_id="evt-unknown")
    assert event.status == InboundEvent.Status.DONE
    assert event.ignored is True
    assert event.last_error == ""
    assert event.body_json()["type"] == "no_such_type"


@pytest.mark.parametrize("signature", ["", "0" * 64, "not-hex-ñ"])
def test_bad_or_missing_signature_is_rejected_and_nothing_stored(client, signature):
    # given a body with a wrong signature
    body = json.dumps({"id": "evt-forged", "type": "record"}).encode()

    # when it is posted
    response = post(client, body, signature=signature)

    # then it is refused and not stored
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_signed_but_not_json_is_a_bad_request(client):
    # given an authentic body that is not JSON
    body = b"id=1&type=record"

    # when it is posted
    response = post(client, body)

    # then it is a 400 and nothing is stored
    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_only_post_is_allowed(client):
    # when the endpoint is fetched
    response = client.get(URL)

    # then it is not allowed
    assert response.status_code == 405
