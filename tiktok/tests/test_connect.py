"""Connecting shops: the OAuth pages against the sandbox, the connect service, disconnect, and the
authorization webhooks (types 6 and 7) through the real inbox path."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.messages import get_messages
from django.db import connection

from accounts.tests.factories import MembershipFactory
from creatorflow.core.errors import Conflict
from creatorflow.core.testing import client_for
from creatorflow.inbox.models import InboundEvent
from creatorflow.inbox.services import inbox_process, inbox_store
from creatorflow.outbox.models import OutboxMessage
from notifications.models import Notification
from orders.tests.factories import OrderFactory
from tiktok.models import Shop, ShopAuthorization, SyncRun
from tiktok.services.connect import (
    shop_authorization_expiring,
    shop_deauthorized,
    shop_disconnect,
    shops_connect,
)
from tiktok.tests.connected import connect_sandbox_shop
from tiktok.views import STATE_SESSION_KEY
from tiktok.wire import TikTokError

pytestmark = pytest.mark.django_db

CALLBACK = "/tiktok/oauth/callback/"


@pytest.fixture
def owner():
    return MembershipFactory(role="owner")


def start_connect(client) -> str:
    """GET /tiktok/connect/ and return the state it put in the authorize URL."""
    response = client.get("/tiktok/connect/")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.url).query)
    return query["state"][0]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def token_calls(sandbox) -> int:
    return sum(1 for call in sandbox.calls if call.path.startswith("/api/v2/token/get"))


# --- the OAuth pages ------------------------------------------------------------------------------


def test_connect_redirects_to_the_authorize_page_with_the_service_id_and_a_session_state(
    tiktok_sandbox, owner
):
    # when an owner starts connecting
    client = client_for(owner)
    response = client.get("/tiktok/connect/")

    # then they go to TikTok's authorize URL with our service id and a random state of this session
    assert response.status_code == 302
    parts = urlsplit(response.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == tiktok_sandbox.authorize_url
    query = parse_qs(parts.query)
    assert query["service_id"] == ["test-service"]
    state = query["state"][0]
    assert len(state) >= 20
    assert [s["state"] for s in client.session[STATE_SESSION_KEY]] == [state]
    # and a second start gives a different state
    assert start_connect(client) != state


def test_oauth_flow_end_to_end_stores_shops_with_encrypted_tokens_and_starts_the_first_import(
    tiktok_sandbox, owner
):
    # given a seller with two shops in TikTok Shop
    first = tiktok_sandbox.add_shop(name="Glow Lab US", seller="seller-glow")
    second = tiktok_sandbox.add_shop(name="Glow Lab UK", region="GB", seller="seller-glow")
    client = client_for(owner)

    # when the creator starts connecting, sees TikTok's consent page and clicks Authorize
    authorize_url = client.get("/tiktok/connect/").url
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200 and "Glow Lab UK" in page.text
    fields = parse_qs(urlsplit(authorize_url).query)
    consent = requests.post(
        tiktok_sandbox.authorize_url,
        data={"service_id": fields["service_id"][0], "state": fields["state"][0], "action": "authorize"},
        allow_redirects=False,
        timeout=5,
    )
    assert consent.status_code == 302
    back = urlsplit(consent.headers["Location"])
    assert back.path == CALLBACK
    response = client.get(f"{CALLBACK}?{back.query}")

    # then they land on the dashboard, told which shops are connected
    assert response.status_code == 302 and response.url == "/"
    [message] = messages_of(response)
    assert "Glow Lab US" in message and "Glow Lab UK" in message
    # and both shops are stored for the account, syncing, with TikTok's ids and ciphers
    shops = {shop.shop_id: shop for shop in Shop.objects.filter(account=owner.account)}
    assert set(shops) == {first["id"], second["id"]}
    assert shops[second["id"]].cipher == second["cipher"] and shops[second["id"]].region == "GB"
    assert {shop.status for shop in shops.values()} == {Shop.Status.SYNCING}
    assert all(shop.connected_at and shop.disconnected_at is None for shop in shops.values())
    # and the seller's tokens are stored once, encrypted at rest, and they work
    authorization = ShopAuthorization.objects.get(account=owner.account)
    assert {shop.authorization_id for shop in shops.values()} == {authorization.pk}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT access_token, refresh_token FROM {ShopAuthorization._meta.db_table} WHERE id = %s",
            [authorization.pk.hex if connection.vendor == "sqlite" else authorization.pk],
        )
        raw_access, raw_refresh = cursor.fetchone()
    assert authorization.access_token.startswith("TTP_")
    assert authorization.access_token not in str(raw_access)
    assert authorization.refresh_token not in str(raw_refresh)
    from tiktok.client import TikTokClient

    assert {s["id"] for s in TikTokClient(shop=shops[first["id"]]).authorized_shops()} == set(shops)
    # and each shop has a running first import whose task waits in the outbox
    for shop in shops.values():
        run = SyncRun.objects.get(shop=shop, kind=SyncRun.Kind.FULL_IMPORT)
        assert run.status == SyncRun.Status.RUNNING
        message = OutboxMessage.objects.get(key=f"tiktok.first_import:{run.pk}")
        assert message.task == "tiktok.first_import" and message.queue == "integrations"
        assert message.kwargs == {"shop_pk": str(shop.pk), "run_pk": str(run.pk)}


@pytest.mark.parametrize("state", ["", "not-the-state", "état-ünicode"])
def test_a_wrong_or_missing_state_is_refused_and_nothing_is_exchanged(tiktok_sandbox, owner, state):
    # given a shop and a code, but a state this session never got
    tiktok_sandbox.add_shop(seller="seller-x")
    code = tiktok_sandbox.issue_auth_code()
    client = client_for(owner)
    start_connect(client)

    # when the callback arrives with it
    response = client.get(CALLBACK, {"code": code, "state": state})

    # then the creator is told clearly and nothing is stored or exchanged
    assert response.status_code == 302 and response.url == "/tiktok/shops/"
    assert "not valid" in messages_of(response)[-1]
    assert not Shop.objects.exists() and not ShopAuthorization.objects.exists()
    assert token_calls(tiktok_sandbox) == 0


def test_a_used_state_is_refused_the_second_time(tiktok_sandbox, owner):
    # given a connection completed with one state
    tiktok_sandbox.add_shop(seller="seller-y")
    client = client_for(owner)
    state = start_connect(client)
    first = client.get(CALLBACK, {"code": tiktok_sandbox.issue_auth_code(), "state": state})
    assert first.url == "/"

    # when the same state comes back with a new code
    response = client.get(CALLBACK, {"code": tiktok_sandbox.issue_auth_code(), "state": state})

    # then it is refused and the new code is never exchanged
    assert response.url == "/tiktok/shops/" and "not valid" in messages_of(response)[-1]
    assert token_calls(tiktok_sandbox) == 1
    assert Shop.objects.count() == 1


def test_a_state_older_than_ten_minutes_is_refused(tiktok_sandbox, owner):
    # given a state issued eleven minutes ago
    tiktok_sandbox.add_shop(seller="seller-old")
    client = client_for(owner)
    state = start_connect(client)
    session = client.session
    session[STATE_SESSION_KEY] = [{"state": state, "at": time.time() - 11 * 60}]
    session.save()

    # when it comes back
    response = client.get(CALLBACK, {"code": tiktok_sandbox.issue_auth_code(), "state": state})

    # then it is refused
    assert response.url == "/tiktok/shops/" and "not valid" in messages_of(response)[-1]
    assert not Shop.objects.exists()


def test_only_the_last_five_states_stay_valid(tiktok_sandbox, owner):
    # given seven connect attempts in one session
    tiktok_sandbox.add_shop(seller="seller-z")
    client = client_for(owner)
    states = [start_connect(client) for _ in range(7)]

    # then the oldest is forgotten and the newest still works
    old = client.get(CALLBACK, {"code": tiktok_sandbox.issue_auth_code(), "state": states[0]})
    assert old.url == "/tiktok/shops/"
    assert client.get(CALLBACK, {"code": tiktok_sandbox.issue_auth_code(), "state": states[-1]}).url == "/"


def test_a_denied_authorization_shows_a_message_and_stores_nothing(tiktok_sandbox, owner):
    # given the seller clicked Cancel on TikTok's consent page
    tiktok_sandbox.add_shop(seller="seller-no")
    client = client_for(owner)
    state = start_connect(client)
    consent = requests.post(
        tiktok_sandbox.authorize_url,
        data={"service_id": "test-service", "state": state, "action": "cancel"},
        allow_redirects=False,
        timeout=5,
    )

    # when TikTok sends them back
    response = client.get(f"{CALLBACK}?{urlsplit(consent.headers['Location']).query}")

    # then they read why nothing happened, and nothing did
    assert response.url == "/tiktok/shops/"
    assert "did not authorize" in messages_of(response)[-1]
    assert not Shop.objects.exists() and not ShopAuthorization.objects.exists()
    # and the state is used up
    assert client.session[STATE_SESSION_KEY] == []


def test_a_code_the_sandbox_refuses_shows_a_message_and_stores_nothing(tiktok_sandbox, owner):
    tiktok_sandbox.add_shop(seller="seller-bad")
    client = client_for(owner)
    state = start_connect(client)

    response = client.get(CALLBACK, {"code": "TTP_code_made_up", "state": state})

    assert response.status_code == 302 and response.url == "/tiktok/shops/"
    message = messages_of(response)[-1]
    assert "TikTok Shop refused the connection" in message and "invalid or expired auth_code" in message
    assert not Shop.objects.exists() and not ShopAuthorization.objects.exists()


def test_a_shop_connected_to_another_account_is_refused_and_nothing_is_connected(tiktok_sandbox, owner):
    # given a seller with two shops, one of them already connected to another account
    taken = tiktok_sandbox.add_shop(name="Taken Shop", seller="seller-shared")
    tiktok_sandbox.add_shop(name="Free Shop", seller="seller-shared")
    _sb, other_shop = connect_sandbox_shop(tiktok_sandbox, sb_shop=taken)
    client = client_for(owner)
    state = start_connect(client)

    # when this account authorises both
    response = client.get(CALLBACK, {"code": tiktok_sandbox.issue_auth_code(), "state": state})

    # then the creator learns which shop is connected elsewhere, and nothing is stored for them
    assert response.url == "/tiktok/shops/"
    message = messages_of(response)[-1]
    assert taken["id"] in message and "another CreatorFlow account" in message
    assert not Shop.objects.filter(account=owner.account).exists()
    assert not ShopAuthorization.objects.filter(account=owner.account).exists()
    # and the other account's shop is untouched
    other_shop.refresh_from_db()
    assert other_shop.status == Shop.Status.CONNECTED and other_shop.authorization_id is not None


def test_viewers_and_members_cannot_connect(tiktok_sandbox):
    for role in ("viewer", "member"):
        client = client_for(MembershipFactory(role=role))
        assert client.get("/tiktok/connect/").status_code == 403
        assert client.get(CALLBACK, {"code": "x", "state": "y"}).status_code == 403


def test_signed_out_visitors_are_sent_to_log_in(client):
    response = client.get("/tiktok/connect/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


# --- the service ----------------------------------------------------------------------------------


def test_reconnecting_a_shop_refreshes_its_tokens_and_status_in_place(tiktok_sandbox, owner):
    # given a connected shop that was disconnected
    tiktok_sandbox.add_shop(name="Again", seller="seller-again")
    [shop] = shops_connect(
        account=owner.account, auth_code=tiktok_sandbox.issue_auth_code(), actor=owner.user
    )
    old_token = shop.authorization.access_token
    shop_disconnect(shop=shop, actor=owner.user)
    assert not ShopAuthorization.objects.exists()

    # when the creator connects it again
    [again] = shops_connect(
        account=owner.account, auth_code=tiktok_sandbox.issue_auth_code(), actor=owner.user
    )

    # then it is the same row, syncing again with new tokens
    assert again.pk == shop.pk and Shop.objects.count() == 1
    again.refresh_from_db()
    assert again.status == Shop.Status.SYNCING and again.disconnected_at is None
    assert again.authorization.access_token != old_token
    assert SyncRun.objects.filter(shop=shop, kind=SyncRun.Kind.FULL_IMPORT).count() == 1  # still running


def test_an_account_can_hold_shops_of_several_sellers(tiktok_sandbox, owner):
    tiktok_sandbox.add_shop(name="One", seller="seller-one")
    tiktok_sandbox.add_shop(name="Two", seller="seller-two")
    for seller in ("seller-one", "seller-two"):
        code = tiktok_sandbox.state.issue_auth_code(seller=seller)
        shops_connect(account=owner.account, auth_code=code, actor=owner.user)

    assert sorted(Shop.objects.filter(account=owner.account).values_list("name", flat=True)) == ["One", "Two"]
    assert ShopAuthorization.objects.filter(account=owner.account).count() == 2


def test_connect_raises_conflict_with_a_stable_code(tiktok_sandbox, owner):
    taken = tiktok_sandbox.add_shop(seller="seller-c")
    connect_sandbox_shop(tiktok_sandbox, sb_shop=taken)
    with pytest.raises(Conflict) as caught:
        shops_connect(account=owner.account, auth_code=tiktok_sandbox.issue_auth_code(), actor=owner.user)
    assert caught.value.code == "shop_connected_elsewhere"
    assert caught.value.fields == {"shop_ids": [taken["id"]]}


def test_a_refused_code_raises_tiktok_error_and_stores_nothing(tiktok_sandbox, owner):
    with pytest.raises(TikTokError):
        shops_connect(account=owner.account, auth_code="nope", actor=owner.user)
    assert not ShopAuthorization.objects.exists()


def test_disconnect_drops_the_tokens_only_when_no_other_shop_uses_them(tiktok_sandbox, owner):
    # given two shops of one seller connected together, and an order of the first
    tiktok_sandbox.add_shop(name="A", seller="seller-ab")
    tiktok_sandbox.add_shop(name="B", seller="seller-ab")
    a, b = shops_connect(account=owner.account, auth_code=tiktok_sandbox.issue_auth_code(), actor=owner.user)
    order = OrderFactory(shop=a, account=owner.account)

    # when the first is disconnected, the tokens stay for the second
    shop_disconnect(shop=a, actor=owner.user)
    a.refresh_from_db()
    assert a.status == Shop.Status.DISCONNECTED and a.authorization_id is None and a.disconnected_at
    assert not a.is_active
    assert ShopAuthorization.objects.filter(pk=b.authorization_id).exists()
    # and the order is kept
    assert order.__class__.objects.filter(pk=order.pk).exists()

    # when the second goes too, so do the tokens
    shop_disconnect(shop=b, actor=owner.user)
    assert not ShopAuthorization.objects.exists()
    # and disconnecting again is harmless
    shop_disconnect(shop=b, actor=owner.user)


# --- the authorization webhooks, through the inbox ------------------------------------------------


def deliver(shop: Shop, type_: int, data: dict, notification_id: str) -> InboundEvent:
    """Store a TikTok webhook the way the endpoint does and run the inbox's processing on it."""
    body = json.dumps(
        {"type": type_, "tts_notification_id": notification_id, "shop_id": shop.shop_id,
         "timestamp": int(time.time()), "data": data}
    ).encode()  # fmt: skip
    event, created = inbox_store(
        provider="tiktok", external_id=notification_id, event_type=str(type_), source=shop.shop_id, body=body
    )
    assert created
    inbox_process(event_id=event.pk)
    event.refresh_from_db()
    return event


def test_seller_deauthorization_disconnects_the_shop_and_notifies_once(tiktok_sandbox):
    # given a connected shop
    _sb, shop = connect_sandbox_shop(tiktok_sandbox, name="Glow Lab")

    # when TikTok says the seller removed our app, twice (two notification ids)
    first = deliver(shop, 6, {"shop_id": shop.shop_id}, "n-6-a")
    second = deliver(shop, 6, {"shop_id": shop.shop_id}, "n-6-b")

    # then both events are done, the shop is disconnected without tokens
    assert first.status == second.status == InboundEvent.Status.DONE and not first.ignored
    shop.refresh_from_db()
    assert shop.status == Shop.Status.DISCONNECTED and shop.authorization_id is None
    assert "removed" in shop.status_message
    assert not ShopAuthorization.objects.filter(account=shop.account).exists()
    # and the creator got one critical notification naming the shop, linking to the Shops page
    [note] = Notification.objects.filter(account=shop.account)
    assert note.severity == "critical" and "Glow Lab" in note.title and note.link == "/tiktok/shops/"


def test_upcoming_expiration_notifies_once_per_expiry_with_a_reconnect_link(tiktok_sandbox):
    _sb, shop = connect_sandbox_shop(tiktok_sandbox, name="Glow Lab")
    expires = 1_900_000_000  # 2030-03-17 17:46:40 UTC

    deliver(shop, 7, {"shop_id": shop.shop_id, "expire_time": expires}, "n-7-a")
    deliver(shop, 7, {"shop_id": shop.shop_id, "expire_time": expires}, "n-7-b")

    [note] = Notification.objects.filter(account=shop.account)
    assert note.severity == "warning" and note.link == "/tiktok/connect/"
    assert "Glow Lab" in note.title and "17 Mar 2030" in note.body

    # a new expiry is news again
    deliver(shop, 7, {"shop_id": shop.shop_id, "expire_time": expires + 86400}, "n-7-c")
    assert Notification.objects.filter(account=shop.account).count() == 2


def test_expiration_of_a_disconnected_shop_notifies_no_one(tiktok_sandbox, owner):
    _sb, shop = connect_sandbox_shop(tiktok_sandbox)
    shop_disconnect(shop=shop, actor=owner.user)
    shop_authorization_expiring(shop=shop, data={"expire_time": 1_900_000_000})
    shop_deauthorized(shop=shop)
    assert not Notification.objects.filter(account=shop.account).exists()


def test_expiration_without_a_date_still_notifies(tiktok_sandbox):
    _sb, shop = connect_sandbox_shop(tiktok_sandbox)
    shop_authorization_expiring(shop=shop, data={})
    [note] = Notification.objects.filter(account=shop.account)
    assert "soon" in note.body
