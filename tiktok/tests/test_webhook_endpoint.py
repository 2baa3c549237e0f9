"""`POST /webhooks/tiktok/`: the signature suite (CONTRACT.md §3), store-once, and the handlers of
types 6 and 7 reached through the endpoint."""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client

from creatorflow.core.testing_celery import relay_pass
from creatorflow.inbox.models import InboundEvent
from creatorflow.inbox.services import inbox_process
from notifications.models import Notification
from tiktok.models import Shop
from tiktok.signing import webhook_sign
from tiktok.tests.connected import connect_sandbox_shop

URL = "/webhooks/tiktok/"
KEY, SECRET = "abcdef", "123"
VECTOR_BODY = (
    b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
    b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
    b'"order_status":"UNPAID","update_time":1718305585}}'
)
VECTOR_SIGNATURE = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"


@pytest.fixture
def app_keys(settings):
    settings.TIKTOK_APP_KEY = KEY
    settings.TIKTOK_APP_SECRET = SECRET
    return settings


def post(client, body: bytes, signature: str | None = "sign"):
    headers = {}
    if signature == "sign":
        signature = webhook_sign(app_key=KEY, app_secret=SECRET, body=body)
    if signature is not None:
        headers["Authorization"] = signature
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def body_of(type_=1, notification_id="n-1", shop_id="7495540735365777507", data=None) -> bytes:
    payload = {"type": type_, "shop_id": shop_id, "timestamp": 1718305585, "data": data or {}}
    if notification_id is not None:
        payload["tts_notification_id"] = notification_id
    return json.dumps(payload).encode()


# --- the signature --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_contract_vector_is_accepted_with_an_empty_200_and_stored_once(client, app_keys):
    response = post(client, VECTOR_BODY, VECTOR_SIGNATURE)

    assert response.status_code == 200 and response.content == b""
    event = InboundEvent.objects.get(provider="tiktok")
    assert event.external_id == "7380066284010030890"
    assert event.event_type == "1" and event.source == "7495540735365777507"
    assert event.body_bytes == VECTOR_BODY
    assert "Authorization" in event.headers


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    [
        "body byte flipped",
        "signature byte flipped",
        "missing header",
        "empty header",
        "wrong key",
        "wrong app key",
    ],
)
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(client, app_keys, case):
    body, signature = VECTOR_BODY, VECTOR_SIGNATURE
    if case == "body byte flipped":
        body = body.replace(b"UNPAID", b"UNPAIE")
    elif case == "signature byte flipped":
        signature = signature[:-1] + ("4" if signature[-1] != "4" else "5")
    elif case == "missing header":
        signature = None
    elif case == "empty header":
        signature = ""
    elif case == "wrong key":
        signature = webhook_sign(app_key=KEY, app_secret="456", body=body)
    elif case == "wrong app key":
        signature = webhook_sign(app_key="other", app_secret=SECRET, body=body)

    response = post(client, body, signature)

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_without_an_app_secret_everything_is_refused(client, settings):
    # given no secret configured: an empty HMAC key must not become a key anyone can use
    settings.TIKTOK_APP_KEY, settings.TIKTOK_APP_SECRET = KEY, ""
    body = body_of()
    signature = webhook_sign(app_key=KEY, app_secret="", body=body)

    assert post(client, body, signature).status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_unusual_spacing_and_escapes_verify_because_the_raw_body_is_signed(client, app_keys):
    body = (
        b'{ "type" : 1,\n  "shop_id":"1", "tts_notification_id":"a\\u00e9" ,"data" : {"order_id" : "5\\/6"} }'
    )

    response = post(client, body)

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.external_id == "a\u00e9" and event.body_bytes == body


@pytest.mark.django_db
def test_ids_above_2_53_sent_as_numbers_keep_every_digit(client, app_keys):
    body = b'{"type":5,"tts_notification_id":7380066284010030891,"shop_id":7495540735365777507,"data":{}}'

    assert post(client, body).status_code == 200

    event = InboundEvent.objects.get()
    assert event.source == "7495540735365777507" and event.external_id == "7380066284010030891"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"shop_id": "1"}', b'{"type": null}', b'{"type": {"a": 1}}', b"\xff\xfe"],
)
def test_a_signed_body_that_is_not_a_webhook_is_400(client, app_keys, body):
    assert post(client, body).status_code == 400
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_an_unknown_type_is_200_stored_and_ignored(client, app_keys):
    assert post(client, body_of(type_=99, notification_id="n-99")).status_code == 200

    event = InboundEvent.objects.get(external_id="n-99")
    assert event.event_type == "99"
    assert inbox_process(event_id=event.pk).outcome == "ignored"


@pytest.mark.django_db
def test_a_duplicate_is_answered_like_the_first_and_stored_once(client, app_keys):
    body = body_of(notification_id="n-dup")
    first, second = post(client, body), post(client, body)

    assert (first.status_code, first.content) == (second.status_code, second.content) == (200, b"")
    assert InboundEvent.objects.filter(external_id="n-dup").count() == 1


@pytest.mark.django_db
def test_without_a_notification_id_the_body_hash_dedupes(client, app_keys):
    body = body_of(notification_id=None)
    post(client, body)
    post(client, body)

    [event] = InboundEvent.objects.all()
    assert event.external_id == hashlib.sha256(body).hexdigest()


@pytest.mark.django_db
def test_only_post_is_allowed(client, app_keys):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db
def test_the_request_makes_no_call_to_tiktok(tiktok_sandbox, client, django_capture_on_commit_callbacks):
    # given a connected shop (the sandbox fixture sets our app key and secret)
    _sb, shop = connect_sandbox_shop(tiktok_sandbox)
    tiktok_sandbox.clear_calls()
    body = body_of(shop_id=shop.shop_id, data={"order_id": "576653688135258178", "update_time": 1})
    signature = webhook_sign(app_key=tiktok_sandbox.app_key, app_secret=tiktok_sandbox.app_secret, body=body)

    # when an order webhook arrives
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            URL, data=body, content_type="application/json", headers={"Authorization": signature}
        )

    # then it is accepted with no call to TikTok, nor to the broker, during the request: the stored
    # event waits for the relay
    assert response.status_code == 200
    assert tiktok_sandbox.calls == []
    assert callbacks == []
    assert (
        InboundEvent.objects.filter(dispatched_at__isnull=True, status=InboundEvent.Status.RECEIVED).count()
        == 1
    )


# --- types 6 and 7 through the endpoint -----------------------------------------------------------


@pytest.mark.django_db
def test_deauthorization_and_expiry_webhooks_reach_their_handlers(tiktok_sandbox, client, celery_eager):
    # given a connected shop
    _sb, shop = connect_sandbox_shop(tiktok_sandbox, name="Glow Lab")

    def send(type_, data, notification_id):
        body = body_of(type_=type_, notification_id=notification_id, shop_id=shop.shop_id, data=data)
        signature = webhook_sign(
            app_key=tiktok_sandbox.app_key, app_secret=tiktok_sandbox.app_secret, body=body
        )
        response = client.post(
            URL, data=body, content_type="application/json", headers={"Authorization": signature}
        )
        assert response.status_code == 200
        relay_pass()

    # when TikTok warns that the authorization expires, then says the seller removed us
    send(7, {"shop_id": shop.shop_id, "expire_time": 1_900_000_000}, "n-7")
    send(6, {"shop_id": shop.shop_id}, "n-6")
    send(6, {"shop_id": shop.shop_id}, "n-6")  # a retried delivery

    # then both were processed: a warning, then a critical notice, and the shop is disconnected
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {InboundEvent.Status.DONE}
    assert sorted(Notification.objects.filter(account=shop.account).values_list("severity", flat=True)) == [
        "critical",
        "warning",
    ]
    shop.refresh_from_db()
    assert shop.status == Shop.Status.DISCONNECTED


# --- concurrency ----------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_50_concurrent_duplicates_store_exactly_one_event(app_keys):
    # given one signed webhook, delivered by 50 threads at the same moment
    body = body_of(type_=99, notification_id="n-storm")
    signature = webhook_sign(app_key=KEY, app_secret=SECRET, body=body)
    start = threading.Barrier(50)

    def deliver(_):
        client = Client()
        start.wait()
        try:
            response = client.post(
                URL, data=body, content_type="application/json", headers={"Authorization": signature}
            )
            return response.status_code, response.content
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(deliver, range(50)))

    # then every delivery got the first one's answer and there is one row
    assert answers == [(200, b"")] * 50
    assert InboundEvent.objects.filter(provider="tiktok", external_id="n-storm").count() == 1
