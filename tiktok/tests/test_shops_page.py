"""The Shops page: own shops and events only, the progress fragment, and the buttons (resync,
disconnect, replay) with their role and tenancy checks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from creatorflow.inbox.models import InboundEvent
from creatorflow.inbox.tests.factories import InboundEventFactory
from creatorflow.outbox.models import OutboxMessage
from tiktok.models import Shop, ShopAuthorization, SyncRun
from tiktok.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

PAGE = "/tiktok/shops/"


@pytest.fixture
def owner():
    return MembershipFactory(role="owner")


def connected_shop(account, **kw) -> Shop:
    now = timezone.now()
    authorization = ShopAuthorization.objects.create(
        account=account,
        open_id=f"openid-{account.pk}-{kw.get('name', 'x')}",
        access_token="TTP_access",
        refresh_token="TTP_refresh",
        access_token_expires_at=now + timedelta(days=6),
        refresh_token_expires_at=now + timedelta(days=60),
    )
    return ShopFactory(account=account, authorization=authorization, status=Shop.Status.CONNECTED, **kw)


def event_of(shop: Shop, **kw) -> InboundEvent:
    kw.setdefault("event_type", "1")
    return InboundEventFactory(provider="tiktok", source=shop.shop_id, **kw)


# --- what the page shows --------------------------------------------------------------------------


def test_the_page_shows_only_the_accounts_own_shops_and_events(owner):
    # given a shop and events of this account, and another account's shop and event
    mine = connected_shop(owner.account, name="Glow Lab", status_message="Token refreshed late")
    theirs = connected_shop(MembershipFactory().account, name="Rival Goods")
    done = event_of(mine, status=InboundEvent.Status.DONE, event_type="1")
    dead = event_of(
        mine, status=InboundEvent.Status.DEAD, event_type="27", attempts=8,
        last_error="Traceback (most recent call last):\n  ...\nTikTokError: product gone",
    )  # fmt: skip
    foreign = event_of(theirs, status=InboundEvent.Status.DEAD)

    # when the owner opens the page
    response = client_for(owner).get(PAGE)

    # then they see their shop and events, and nothing of the other account
    assert response.status_code == 200
    html = response.content.decode()
    assert "Glow Lab" in html and "Token refreshed late" in html and "Rival Goods" not in html
    assert f'id="event-{done.pk}"' in html and f'id="event-{dead.pk}"' in html
    assert f'id="event-{foreign.pk}"' not in html
    # with type names, the last line of the error, and a replay button on the dead event only
    assert "ORDER_STATUS_CHANGE" in html and "INVENTORY_STATUS_CHANGE" in html
    assert "TikTokError: product gone" in html and "Traceback" not in html
    assert f"/tiktok/events/{dead.pk}/replay/" in html and f"/tiktok/events/{done.pk}/replay/" not in html


def test_a_shop_card_shows_status_syncs_token_expiry_webhook_figures_and_reconciliation(owner):
    # given a shop with sync times, events of the last day, and a reconciliation
    shop = connected_shop(owner.account, name="Glow Lab")
    Shop.objects.filter(pk=shop.pk).update(
        last_order_sync_at=timezone.now().replace(year=2026, month=3, day=4, hour=10, minute=5)
    )
    now = timezone.now()
    for status in (InboundEvent.Status.DONE, InboundEvent.Status.DONE, InboundEvent.Status.DONE):
        event_of(
            shop, status=status, processing_finished_at=now + timedelta(milliseconds=40), received_at=now
        )
    event_of(shop, status=InboundEvent.Status.DEAD, received_at=now)
    event_of(shop, status=InboundEvent.Status.DEAD, received_at=now - timedelta(days=2))  # too old to count
    SyncRun.objects.create(
        shop=shop, kind=SyncRun.Kind.RECONCILE, status=SyncRun.Status.DONE, checked=120, mismatched=3, fixed=3
    )

    html = client_for(owner).get(PAGE).content.decode()

    assert "Connected" in html
    assert "4 Mar 2026, 10:05" in html
    assert shop.authorization.access_token_expires_at.strftime("%-d %b %Y") in html
    assert "75% succeeded of 4" in html
    assert re.search(r"\b40 ms", html)
    assert "120 checked, 3 different, 3 fixed" in html


def test_a_running_import_polls_every_2_seconds_and_a_finished_one_stops(owner):
    shop = connected_shop(owner.account)
    run = SyncRun.objects.create(shop=shop, kind=SyncRun.Kind.FULL_IMPORT, total=200, done=50)
    client = client_for(owner)
    fragment_url = f"/tiktok/shops/{shop.pk}/progress/"

    # while it runs, the page and the fragment poll the fragment
    page = client.get(PAGE).content.decode()
    assert f'hx-get="{fragment_url}"' in page and 'hx-trigger="every 2s"' in page
    fragment = client.get(fragment_url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and 'hx-trigger="every 2s"' in fragment
    assert 'aria-valuenow="25"' in fragment and "50 of 200" in fragment

    # once done, the fragment says 100% and carries no trigger, so polling stops
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.DONE, done=200)
    fragment = client.get(fragment_url, headers={"HX-Request": "true"}).content.decode()
    assert 'aria-valuenow="100"' in fragment and "hx-trigger" not in fragment


def test_viewers_see_the_page_without_buttons(owner):
    shop = connected_shop(owner.account)
    event_of(shop, status=InboundEvent.Status.DEAD)
    viewer = MembershipFactory(account=owner.account, role="viewer")

    response = client_for(viewer).get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert shop.name in html
    assert "Resync" not in html and "Disconnect" not in html and "Replay" not in html
    assert "Connect a shop" not in html


def test_an_empty_account_is_invited_to_connect(owner):
    html = client_for(owner).get(PAGE).content.decode()
    assert "No shop connected yet" in html and 'href="/tiktok/connect/"' in html


def test_signed_out_visitors_are_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_the_page_query_count_does_not_grow_with_events(owner, django_assert_max_num_queries):
    shop = connected_shop(owner.account)
    for _ in range(30):
        event_of(shop)
    client = client_for(owner)
    with django_assert_max_num_queries(20):
        assert client.get(PAGE).status_code == 200


# --- buttons --------------------------------------------------------------------------------------


def test_resync_starts_a_run_with_its_task(owner):
    shop = connected_shop(owner.account)

    response = client_for(owner).post(f"/tiktok/shops/{shop.pk}/resync/")

    assert response.status_code == 302 and response.url == PAGE
    run = SyncRun.objects.get(shop=shop, kind=SyncRun.Kind.RESYNC)
    assert OutboxMessage.objects.filter(task="tiktok.resync_shop", kwargs__run_pk=str(run.pk)).exists()


def test_resync_of_a_disconnected_shop_is_refused_with_a_message(owner):
    shop = ShopFactory(account=owner.account, status=Shop.Status.DISCONNECTED)
    response = client_for(owner).post(f"/tiktok/shops/{shop.pk}/resync/", follow=True)
    assert "disconnected" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_disconnect_from_the_page(owner):
    shop = connected_shop(owner.account)

    response = client_for(owner).post(f"/tiktok/shops/{shop.pk}/disconnect/")

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.status == Shop.Status.DISCONNECTED and shop.authorization_id is None


def test_replaying_a_dead_event_puts_it_back_in_the_queue(owner):
    shop = connected_shop(owner.account)
    dead = event_of(shop, status=InboundEvent.Status.DEAD, attempts=8, last_error="boom")

    response = client_for(owner).post(f"/tiktok/events/{dead.pk}/replay/")

    assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.status == InboundEvent.Status.RECEIVED and dead.attempts == 0


def test_replaying_a_done_event_changes_nothing(owner):
    shop = connected_shop(owner.account)
    done = event_of(shop, status=InboundEvent.Status.DONE, attempts=1)
    response = client_for(owner).post(f"/tiktok/events/{done.pk}/replay/", follow=True)
    assert "not waiting for a replay" in response.content.decode()
    done.refresh_from_db()
    assert done.status == InboundEvent.Status.DONE


def test_another_accounts_shops_and_events_are_404(owner):
    shop = connected_shop(owner.account)
    SyncRun.objects.create(shop=shop, kind=SyncRun.Kind.FULL_IMPORT)
    dead = event_of(shop, status=InboundEvent.Status.DEAD)

    assert_other_account_gets_404(f"/tiktok/shops/{shop.pk}/progress/", owner=owner)
    assert_other_account_gets_404(f"/tiktok/events/{dead.pk}/replay/", owner=owner, method="post")
    assert_other_account_gets_404(f"/tiktok/shops/{shop.pk}/resync/", owner=owner, method="post")
    assert_other_account_gets_404(f"/tiktok/shops/{shop.pk}/disconnect/", owner=owner, method="post")


def test_unknown_ids_are_404(owner):
    client = client_for(owner)
    assert client.post("/tiktok/events/999999/replay/").status_code == 404
    assert client.post(f"/tiktok/events/{10**30}/replay/").status_code == 404
    assert client.post("/tiktok/shops/00000000-0000-0000-0000-000000000000/resync/").status_code == 404
    # an event of another provider is not a TikTok event of this account
    other = InboundEventFactory(provider="stripe", status=InboundEvent.Status.DEAD)
    assert client.post(f"/tiktok/events/{other.pk}/replay/").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_posts_need_the_admin_role(owner, role):
    shop = connected_shop(owner.account)
    dead = event_of(shop, status=InboundEvent.Status.DEAD)
    client = client_for(MembershipFactory(account=owner.account, role=role))

    for url in (
        f"/tiktok/shops/{shop.pk}/resync/",
        f"/tiktok/shops/{shop.pk}/disconnect/",
        f"/tiktok/events/{dead.pk}/replay/",
    ):
        assert client.post(url).status_code == 403, url
    shop.refresh_from_db()
    dead.refresh_from_db()
    assert shop.status == Shop.Status.CONNECTED and dead.status == InboundEvent.Status.DEAD


def test_an_admin_may_use_the_buttons(owner):
    shop = connected_shop(owner.account)
    admin = MembershipFactory(account=owner.account, role="admin")
    assert client_for(admin).post(f"/tiktok/shops/{shop.pk}/resync/").status_code == 302


def test_posts_are_post_only(owner):
    shop = connected_shop(owner.account)
    assert client_for(owner).get(f"/tiktok/shops/{shop.pk}/resync/").status_code == 405
