"""Hostile bodies at every inbound webhook endpoint (CONTRACT.md §3), against the real database.

Every request here is correctly signed for its endpoint, so a refusal is about the body, never the
signature: a body over 1 MB, JSON nested deeper than 64 levels, a NUL (or a lone surrogate, which
PostgreSQL cannot store either) in an id, a type, a key or a nested value, invalid UTF-8, a top level
that is not an object, an empty body or a content type that is not JSON is a 4xx with a JSON body and
nothing is stored. A seeded fuzz loop then posts a few hundred random documents and byte strings to
each endpoint: no answer is ever a 5xx, and every event that was accepted is processed (the real
Celery task, run eagerly) without an error, so nothing accepted can fail on every retry.

Signatures are computed here from hmac/hashlib/unicodedata for the carriers (like
shipping/tests/test_easypost_webhook.py) and with tiktok.signing.webhook_sign for TikTok (like
tiktok/tests/test_webhook_endpoint.py). There is no Stripe endpoint yet (billing has no webhook view).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from creatorflow.inbox.models import InboundEvent
from creatorflow.inbox.tasks import process_inbound_event
from orders.models import OrderStatus
from orders.tests.factories import OrderFactory
from shipping.models import CarrierAccount, Shipment, ShipmentStatus, TrackingEvent
from shipping.services.webhook_credentials import webhook_credentials_issue
from tiktok.models import PendingOrderFetch, Shop, ShopAuthorization
from tiktok.signing import webhook_sign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MAX_BODY = 1024 * 1024
TRACKING = "9400111202555842761234"
APP_KEY, APP_SECRET = "fuzz-app-key", "fuzz-app-secret"
ENDPOINTS = ("tiktok", "easypost", "shippo", "sandbox")


def carrier_signature(secret: str, body: bytes) -> str:
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


@dataclass
class Endpoint:
    """One webhook endpoint with what it takes to sign for it and to build a valid event."""

    name: str
    provider: str  # the inbox's provider name
    path: str
    token: str = ""
    secret: str = ""
    shop: Shop | None = None
    shipment: Shipment | None = None
    sequence: list = field(default_factory=lambda: [0])

    @property
    def url(self) -> str:
        return f"{self.path}?token={self.token}" if self.token else self.path

    def headers(self, body: bytes) -> dict:
        if self.name == "tiktok":
            return {"Authorization": webhook_sign(app_key=APP_KEY, app_secret=APP_SECRET, body=body)}
        if self.name == "shippo":
            return {}  # the URL's token alone authenticates
        return {"X-Hmac-Signature": carrier_signature(self.secret, body)}

    def post(self, body: bytes, *, content_type="application/json", headers=None, url=None, **extra):
        signed = self.headers(body) | (headers or {})
        return Client().post(url or self.url, data=body, content_type=content_type, headers=signed, **extra)

    def next_id(self) -> str:
        self.sequence[0] += 1
        return f"fz-{self.name}-{self.sequence[0]}"

    # --- a valid event, and where its id, type and a nested value live ----------------------------

    def event(self) -> dict:
        event_id = self.next_id()
        if self.name == "tiktok":
            return {
                "type": 1,
                "tts_notification_id": event_id,
                "shop_id": self.shop.shop_id,
                "timestamp": 1718305585,
                "data": {
                    "order_id": "576653688135258178",
                    "order_status": "AWAITING_SHIPMENT",
                    "update_time": 1718305585,
                },
            }
        if self.name == "easypost":
            return {
                "object": "Event",
                "id": event_id,
                "description": "tracker.updated",
                "result": {
                    "object": "Tracker",
                    "tracking_code": TRACKING,
                    "carrier": "USPS",
                    "status": "in_transit",
                    "tracking_details": [
                        {
                            "status": "in_transit",
                            "message": "Arrived at USPS Regional Facility",
                            "datetime": "2025-03-02T10:00:00Z",
                            "tracking_location": {"city": "AUSTIN", "state": "TX", "country": "US"},
                        }
                    ],
                },
            }
        if self.name == "shippo":
            entry = {
                "object_id": event_id,
                "status": "TRANSIT",
                "status_details": "Departed facility",
                "status_date": "2025-03-03T15:00:00Z",
                "location": {"city": "Brooklyn", "state": "NY"},
            }
            return {
                "event": "track_updated",
                "test": False,
                "nonce": event_id,  # Shippo events are deduplicated on the body: keep them apart
                "data": {
                    "carrier": "usps",
                    "tracking_number": TRACKING,
                    "tracking_status": entry,
                    "tracking_history": [entry],
                },
            }
        return {
            "object": "Event",
            "id": event_id,
            "description": "tracker.updated",
            "result": {
                "tracking_code": TRACKING,
                "carrier": "USPS",
                "status": "in_transit",
                "message": "On its way",
                "datetime": "2025-03-02T10:00:00+00:00",
            },
        }

    def set_id(self, doc: dict, value) -> dict:
        doc["tts_notification_id" if self.name == "tiktok" else "id"] = value
        return doc

    def set_type(self, doc: dict, value) -> dict:
        doc[{"tiktok": "type", "shippo": "event"}.get(self.name, "description")] = value
        return doc

    def set_nested(self, doc: dict, value) -> dict:
        """A string the handler reads, deep in the event (for Shippo: the tracking status)."""
        if self.name == "tiktok":
            doc["data"]["order_id"] = value
        elif self.name == "easypost":
            doc["result"]["tracking_details"][0]["message"] = value
        elif self.name == "shippo":
            doc["data"]["tracking_status"]["status"] = value
            doc["data"]["tracking_history"][0]["status"] = value
        else:
            doc["result"]["message"] = value
        return doc


def carrier_endpoint(name: str, path: str) -> Endpoint:
    account = AccountFactory()
    carrier_account = CarrierAccount.objects.create(account=account, provider=name, name=f"{name} fuzz")
    credentials = webhook_credentials_issue(carrier_account=carrier_account, actor="test")
    order = OrderFactory(shop__account=account, status=OrderStatus.SHIPPED)
    shipment = Shipment.objects.create(
        account=account,
        order=order,
        carrier_account=carrier_account,
        provider=name,
        carrier="USPS",
        status=ShipmentStatus.SHIPPED,
        tracking_number=TRACKING,
    )
    provider = "sandbox_carrier" if name == "sandbox" else name
    return Endpoint(
        name, provider, path, token=credentials.token, secret=credentials.secret, shipment=shipment
    )


def tiktok_endpoint(settings) -> Endpoint:
    settings.TIKTOK_APP_KEY, settings.TIKTOK_APP_SECRET = APP_KEY, APP_SECRET
    account = AccountFactory()
    now = timezone.now()
    authorization = ShopAuthorization.objects.create(
        account=account,
        open_id="openid-fuzz",
        access_token="fuzz-access",
        refresh_token="fuzz-refresh",
        access_token_expires_at=now + timedelta(days=7),
        refresh_token_expires_at=now + timedelta(days=30),
    )
    shop = Shop.objects.create(
        account=account,
        authorization=authorization,
        shop_id="7495540735365777507",
        name="Fuzz shop",
        region="US",
        status=Shop.Status.CONNECTED,
        connected_at=now,
    )
    return Endpoint("tiktok", "tiktok", "/webhooks/tiktok/", shop=shop)


def make_endpoint(name: str, settings) -> Endpoint:
    if name == "tiktok":
        return tiktok_endpoint(settings)
    return carrier_endpoint(name, f"/webhooks/carriers/{name}/")


@pytest.fixture(params=ENDPOINTS)
def endpoint(request, settings):
    return make_endpoint(request.param, settings)


def encode(doc) -> bytes:
    return json.dumps(doc).encode()


def nested(depth: int, leaf="leaf"):
    """`depth` levels of containers (alternating lists and objects) around `leaf`."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


def assert_json_error(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    assert isinstance(json.loads(response.content).get("error"), str)


def processed_cleanly(provider: str) -> list[tuple]:
    """Run the processing task (the real Celery task, eagerly) for every stored event of `provider`;
    return those that did not end done without an error.

    The task is sent for each event rather than through a relay pass, which would also send any
    outbox message that fell due meanwhile (TikTok's batched order fetch is due within a second) and
    so call a TikTok that is not there."""
    for pk in InboundEvent.objects.filter(provider=provider).values_list("pk", flat=True):
        process_inbound_event.delay(pk)
    return [
        (event.status, event.body_bytes[:200], event.last_error[-600:])
        for event in InboundEvent.objects.filter(provider=provider)
        if event.status != InboundEvent.Status.DONE or event.last_error
    ]


# --- the control: a valid event is taken and processed ----------------------------------------------


def test_a_valid_event_and_one_nested_64_deep_are_stored_and_processed(endpoint, celery_eager):
    # given a valid event, and one carrying an extra value nested exactly 64 levels deep (the limit)
    plain = endpoint.event()
    deep = endpoint.event()
    deep["extra"] = nested(63)  # the event object is level 1

    # when both are posted
    answers = [endpoint.post(encode(doc)).status_code for doc in (plain, deep)]

    # then both are stored once and processed without an error, doing their work
    assert answers == [200, 200]
    assert InboundEvent.objects.filter(provider=endpoint.provider).count() == 2
    assert processed_cleanly(endpoint.provider) == []
    if endpoint.shipment is not None:
        endpoint.shipment.refresh_from_db()
        assert endpoint.shipment.status == ShipmentStatus.IN_TRANSIT
        assert TrackingEvent.objects.filter(shipment=endpoint.shipment).exists()
    else:
        assert PendingOrderFetch.objects.filter(shop=endpoint.shop, order_id="576653688135258178").exists()


# --- hostile bodies: 4xx with a JSON body, nothing stored ---------------------------------------------


def _over_limit(ep):
    doc = ep.event()
    doc["pad"] = "x" * MAX_BODY
    return encode(doc)


def _deep_inside(ep, depth, opener=b"[", closer=b"]"):
    head = encode(ep.event())[:-1]
    return head + b', "extra": ' + opener * depth + b"1" + closer * depth + b"}"


HOSTILE_BODIES = {
    "body over 1 MB": _over_limit,
    "nested 65 deep": lambda ep: encode(ep.event() | {"extra": nested(64)}),
    "nested 10000 deep (lists)": lambda ep: _deep_inside(ep, 10_000),
    "nested 10000 deep (objects)": lambda ep: _deep_inside(ep, 10_000, b'{"a":', b"}"),
    "bare 10000 deep": lambda ep: b"[" * 10_000 + b"]" * 10_000,
    "NUL in the id (escaped)": lambda ep: encode(ep.set_id(ep.event(), "evt\x00-1")),
    "NUL in the id (raw byte)": lambda ep: encode(ep.set_id(ep.event(), "evt@NUL@")).replace(
        b"@NUL@", b"\x00"
    ),
    "NUL in the type": lambda ep: encode(ep.set_type(ep.event(), "tracker.updated\x00")),
    "NUL as the type": lambda ep: encode(ep.set_type(ep.event(), "\x00")),
    "NUL in a key": lambda ep: encode(ep.event() | {"ke\x00y": 1}),
    "NUL in a nested value": lambda ep: encode(ep.set_nested(ep.event(), "TRANSIT\x00")),
    "NUL in a nested value (raw byte)": (
        lambda ep: encode(ep.set_nested(ep.event(), "T@NUL@")).replace(b"@NUL@", b"\x00")
    ),
    "NUL in a value a repeated key overrides": (
        lambda ep: encode(ep.event())[:-1] + b', "note": "x\\u0000", "note": "fine"}'
    ),
    "lone surrogate in the id": lambda ep: encode(ep.set_id(ep.event(), "evt-\ud800")),
    "lone surrogate in the type": lambda ep: encode(ep.set_type(ep.event(), "\udfff")),
    "lone surrogate in a nested value": lambda ep: encode(ep.set_nested(ep.event(), "In transit \ud83d")),
    "lone surrogate in a key": lambda ep: encode(ep.event() | {"\udc00": 1}),
    "invalid UTF-8": lambda ep: encode(ep.set_nested(ep.event(), "@BAD@")).replace(b"@BAD@", b"\xc3\x28\xff"),
    "top level a list": lambda ep: encode([ep.event()]),
    "top level an empty list": lambda ep: b"[]",
    "top level a number": lambda ep: b"12345",
    "top level a string": lambda ep: b'"track_updated"',
    "top level null": lambda ep: b"null",
    "top level true": lambda ep: b"true",
    "empty body": lambda ep: b"",
    "whitespace only": lambda ep: b" \r\n\t ",
    "not JSON": lambda ep: b"id=1&type=record",
    "truncated JSON": lambda ep: encode(ep.event())[:-3],
}


@pytest.mark.parametrize("case", HOSTILE_BODIES)
def test_a_hostile_body_is_a_4xx_with_a_json_error_and_nothing_stored(endpoint, case):
    body = HOSTILE_BODIES[case](endpoint)
    before = InboundEvent.objects.count()

    response = endpoint.post(body)

    assert_json_error(response, 400)
    assert InboundEvent.objects.count() == before


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=fuzz",
        "text/html",
        "application/xml",
    ],
)
def test_a_body_that_is_not_sent_as_json_is_refused_and_nothing_stored(endpoint, content_type):
    response = endpoint.post(encode(endpoint.event()), content_type=content_type)

    assert_json_error(response, 415)
    assert not InboundEvent.objects.exists()


def test_json_content_types_with_parameters_and_none_at_all_are_taken(endpoint):
    # an http.client sender sets no Content-Type at all (our own sandboxes and benches do this), which
    # a wsgiref-based server hands to Django as text/plain
    with_charset = endpoint.post(encode(endpoint.event()), content_type="application/json; charset=utf-8")
    missing = endpoint.post(encode(endpoint.event()), content_type="", CONTENT_TYPE="")
    as_wsgiref_reports_missing = endpoint.post(encode(endpoint.event()), content_type="text/plain")

    assert [r.status_code for r in (with_charset, missing, as_wsgiref_reports_missing)] == [200, 200, 200]
    assert InboundEvent.objects.filter(provider=endpoint.provider).count() == 3


@pytest.mark.parametrize(
    "query",
    ["token=%00", "token={token}%00", "tok%00en={token}", "token={token}&x=%00", "x=%00&token={token}"],
)
def test_a_nul_in_the_query_string_is_a_400_not_a_database_error(endpoint, query):
    url = f"{endpoint.path}?{query.format(token=endpoint.token)}"

    response = endpoint.post(encode(endpoint.event()), url=url)

    assert_json_error(response, 400)
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("suffix", ["%00/", "%00", "x%00y/"])
def test_a_nul_in_the_path_is_not_found(endpoint, suffix):
    response = endpoint.post(encode(endpoint.event()), url=f"{endpoint.path}{suffix}?token={endpoint.token}")

    assert response.status_code == 404
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("token", ["%ff%fe", "\u00e9" * 80, "a" * 5000, "%F0%9F%98%80"])
def test_a_token_that_is_no_token_is_refused_without_touching_storage(settings, token):
    ep = make_endpoint("shippo", settings)

    response = ep.post(encode(ep.event()), url=f"{ep.path}?token={token}")

    assert_json_error(response, 401)
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("name", ["tiktok", "easypost", "sandbox"])  # Shippo does not sign
def test_a_nul_in_the_signature_header_is_refused(name, settings):
    endpoint = make_endpoint(name, settings)
    header = "Authorization" if endpoint.name == "tiktok" else "X-Hmac-Signature"
    body = encode(endpoint.event())
    signature = endpoint.headers(body)[header]

    answers = [
        endpoint.post(body, headers={header: value})
        for value in (signature + "\x00", "\x00", "\x00" + signature)
    ]

    for response in answers:
        assert_json_error(response, 400, 401)
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("value", ["a\x00b", "\x00"])
def test_a_nul_in_any_stored_header_of_a_signed_event_is_a_400(endpoint, value):
    # the headers are stored with the event (PostgreSQL's jsonb cannot hold a NUL)
    response = endpoint.post(encode(endpoint.event()), headers={"X-Request-Note": value})

    assert_json_error(response, 400)
    assert not InboundEvent.objects.exists()


def test_a_nul_in_a_cookie_is_no_server_error(endpoint):
    # cookies are never stored; a junk session id must not reach a database lookup that fails
    response = endpoint.post(
        encode(endpoint.event()), headers={"Cookie": "sessionid=abcdefgh\x00ijkl; csrftoken=\x00"}
    )

    assert response.status_code == 200
    assert InboundEvent.objects.filter(provider=endpoint.provider).count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"order_id": "9" * 65},
        {"order_id": "576653688135258178", "update_time": 2**64},
        {"order_id": "576653688135258178", "update_time": "18446744073709551616"},
        {"product_id": "1" * 65},
    ],
    ids=[
        "order id too long",
        "update_time over int64",
        "update_time string over int64",
        "product id too long",
    ],
)
def test_a_tiktok_event_its_handler_could_never_store_is_refused(settings, data):
    ep = make_endpoint("tiktok", settings)
    doc = ep.event()
    doc["data"] = data
    doc["type"] = 5 if "product_id" in data else 1

    response = ep.post(encode(doc))

    assert_json_error(response, 400)
    assert not InboundEvent.objects.exists()


def test_a_tiktok_update_time_of_infinity_is_refused(settings):
    ep = make_endpoint("tiktok", settings)
    body = encode(ep.event()).replace(b'"update_time": 1718305585', b'"update_time": Infinity')
    assert b"Infinity" in body

    response = ep.post(body)

    assert_json_error(response, 400)
    assert not InboundEvent.objects.exists()


def test_a_huge_integer_does_not_switch_off_the_checks(settings):
    # Python refuses to parse integers over 4300 digits by default; a parser that gives up there
    # must not let the NUL or the nesting behind it through
    ep = make_endpoint("tiktok", settings)
    doc = ep.set_type(ep.event(), "1\x00")
    bodies = [
        encode(doc)[:-1] + b', "big": ' + b"9" * 5000 + b"}",
        encode(ep.event())[:-1] + b', "big": ' + b"9" * 5000 + b', "deep": ' + encode(nested(80)) + b"}",
    ]

    for body in bodies:
        assert_json_error(ep.post(body), 400)
    assert not InboundEvent.objects.exists()


# --- odd but harmless values: taken, and processed without an error ----------------------------------

FAR_DATE = "9999-12-31T23:59:59-01:00"  # a valid ISO time whose UTC form is in year 10000
ODD_EVENTS = {
    "shippo history a number": ("shippo", lambda d: d["data"].update(tracking_history=5)),
    "shippo history true": ("shippo", lambda d: d["data"].update(tracking_history=True)),
    "shippo history an object": ("shippo", lambda d: d["data"].update(tracking_history={"a": 1})),
    "shippo date past year 9999": (
        "shippo",
        lambda d: d["data"]["tracking_status"].update(status_date=FAR_DATE),
    ),
    "shippo location a string": ("shippo", lambda d: d["data"]["tracking_status"].update(location="NY")),
    "easypost details a number": ("easypost", lambda d: d["result"].update(tracking_details=7)),
    "easypost details a string": ("easypost", lambda d: d["result"].update(tracking_details="in_transit")),
    "easypost location a string": (
        "easypost",
        lambda d: d["result"]["tracking_details"][0].update(tracking_location="AUSTIN"),
    ),
    "easypost location a list": (
        "easypost",
        lambda d: d["result"]["tracking_details"][0].update(tracking_location=[1]),
    ),
    "easypost date before year 1": (
        "easypost",
        lambda d: d["result"]["tracking_details"][0].update(datetime="0001-01-01T00:00:00+01:00"),
    ),
    "sandbox time missing": ("sandbox", lambda d: d["result"].pop("datetime")),
    "sandbox time a number": ("sandbox", lambda d: d["result"].update(datetime=1718305585)),
    "sandbox time not a time": ("sandbox", lambda d: d["result"].update(datetime="tracker.updated")),
    "sandbox time past year 9999": ("sandbox", lambda d: d["result"].update(datetime=FAR_DATE)),
    "sandbox status a list": ("sandbox", lambda d: d["result"].update(status=["in_transit"])),
    "tiktok update_time not a number": ("tiktok", lambda d: d["data"].update(update_time="soon")),
    "tiktok update_time negative": ("tiktok", lambda d: d["data"].update(update_time=-(2**70))),
    "tiktok order id a number": ("tiktok", lambda d: d["data"].update(order_id=576653688135258178)),
    "tiktok expiry infinite": ("tiktok", lambda d: d.update(type=7, data={"expire_time": 1e999})),
}


@pytest.mark.parametrize("case", ODD_EVENTS)
def test_an_odd_but_harmless_event_is_taken_and_processed_without_an_error(case, settings, celery_eager):
    name, change = ODD_EVENTS[case]
    ep = make_endpoint(name, settings)
    doc = ep.event()
    change(doc)

    response = ep.post(json.dumps(doc).encode())

    assert response.status_code == 200, response.content
    assert InboundEvent.objects.filter(provider=ep.provider).count() == 1
    assert processed_cleanly(ep.provider) == []


# --- the fuzz loop -----------------------------------------------------------------------------------

STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "\ud83d\ude00",
    "\U0001f600",
    "\u202e",
    "e\u0301",
    "\ufeff",
    "\\",
    '"',
    "\n",
    "x" * 300,
    "9" * 70,
    "-1",
    "1",
    "0",
    "null",
    TRACKING,
    "UNKNOWN",
    "TRANSIT",
    "DELIVERED",
    "RETURNED",
    "FAILURE",
    "PRE_TRANSIT",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "returned",
    "exception",
    "pre_transit",
    "tracker.updated",
    "tracker.created",
    "track_updated",
    "Tracker",
    "2025-03-02T10:00:00Z",
    "2025-03-02T10:00:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "not a date",
    "2025-13-45T99:99:99Z",
    "out for delivery",
]
KEYS = [
    "id",
    "type",
    "tts_notification_id",
    "shop_id",
    "data",
    "order_id",
    "product_id",
    "update_time",
    "expire_time",
    "description",
    "result",
    "object",
    "tracking_code",
    "tracking_details",
    "status",
    "message",
    "datetime",
    "tracking_location",
    "event",
    "tracking_number",
    "tracking_status",
    "tracking_history",
    "status_details",
    "status_date",
    "object_id",
    "substatus",
    "code",
    "location",
    "carrier",
    "updated_at",
    "test",
    "city",
    "\x00",
    "\ud800",
    "",
]


def random_scalar(rng: random.Random):
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(STRINGS)
    if roll < 0.55:
        return "".join(
            chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x2FFFF)])) for _ in range(8)
        )
    if roll < 0.75:
        return rng.choice([0, 1, -1, 7, 2**31, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**30, 1718305585])
    if roll < 0.85:
        return rng.choice([0.5, -0.0, 1e308, -1e308, 1e-320, float("inf"), float("-inf"), float("nan")])
    return rng.choice([True, False, None])


def random_value(rng: random.Random, depth: int = 0):
    if depth > 4 or rng.random() < 0.55:
        return random_scalar(rng)
    if rng.random() < 0.4:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def slots(value) -> list[tuple]:
    """Every (container, key) inside `value`, at any depth."""
    found, stack = [], [value]
    while stack:
        container = stack.pop()
        keys = list(container) if isinstance(container, dict) else range(len(container))
        for key in keys:
            found.append((container, key))
            if isinstance(container[key], (dict, list)):
                stack.append(container[key])
    return found


def mutate(rng: random.Random, doc: dict) -> dict:
    """Replace one to three values anywhere inside `doc` (in place) with random ones, or add a key."""
    for _ in range(rng.randrange(1, 4)):
        candidates = slots(doc)
        if candidates and rng.random() < 0.85:
            container, key = rng.choice(candidates)
            container[key] = random_value(rng)
        else:
            doc[rng.choice(KEYS)] = random_value(rng)
    return doc


def random_body(rng: random.Random, ep: Endpoint) -> bytes:
    roll = rng.random()
    if roll < 0.08:
        return rng.randbytes(rng.randrange(64))
    if roll < 0.16:
        return json.dumps(random_value(rng)).encode("utf-8", "surrogatepass")
    doc = ep.event()
    if roll < 0.85:
        mutate(rng, doc)
    if rng.random() < 0.05:
        doc["deep"] = nested(rng.choice([62, 63, 64, 65, 200]))
    text = json.dumps(doc, ensure_ascii=rng.random() < 0.6)
    body = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.08 and body:  # flip a byte or cut it short
        index = rng.randrange(len(body))
        body = (
            body[:index] + bytes([rng.randrange(256)]) + body[index + 1 :]
            if rng.random() < 0.5
            else body[:index]
        )
    return body


@pytest.mark.parametrize("name", ENDPOINTS)
def test_random_signed_bodies_never_get_a_5xx_and_what_is_taken_processes(name, settings, celery_eager):
    rng = random.Random(f"webhook-fuzz-{name}-2025")
    ep = make_endpoint(name, settings)
    answers = {}

    for _ in range(160):
        body = random_body(rng, ep)
        response = ep.post(body)
        status = response.status_code
        answers[status] = answers.get(status, 0) + 1
        assert status < 500, (status, body[:300])
        if status >= 400:
            assert_json_error(response, status)

    # the fuzz both reached storage and was refused, so the assertions below mean something
    stored = InboundEvent.objects.filter(provider=ep.provider).count()
    assert stored >= 30 and answers.get(400, 0) >= 15, answers
    # and everything stored was processed, done and without an error (nothing left to fail on retry)
    assert processed_cleanly(ep.provider) == []
    if ep.shipment is not None:
        assert TrackingEvent.objects.filter(shipment=ep.shipment).exists()
    else:
        assert PendingOrderFetch.objects.filter(shop=ep.shop).exists()
