"""The orders pages: the list (filters, search, priority sort, bulk bar, live rows), one order
(items, timeline, reasons, actions), the review queue, roles, CSRF and tenancy."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from inventory.tests.factories import stocked_sku
from orders.models import Order, OrderStatus
from orders.tests.factories import OrderEventFactory, OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "rows"}


@pytest.fixture
def member():
    return MembershipFactory()


@pytest.fixture
def viewer(member):
    return MembershipFactory(account=member.account, role="viewer")


def order_of(account, **fields):
    order = OrderFactory(shop__account=account, **fields)
    OrderItemFactory(
        order=order, seller_sku=fields.pop("sku_code", "GL-LO"), quantity=2, unit_price=Decimal("9.50")
    )
    return order


def ids_in(html: str) -> list[str]:
    return re.findall(r'<td class="ord-id"><a href="[^"]+">([^<]+)</a>', html)


def test_the_list_puts_the_highest_impact_first_then_the_earliest_ship_by(member):
    # given
    now = timezone.now()
    order_of(member.account, tiktok_order_id="LOW", impact_score=10, ship_by=now + timedelta(hours=2))
    order_of(member.account, tiktok_order_id="LATE", impact_score=80, ship_by=now + timedelta(hours=30))
    order_of(member.account, tiktok_order_id="SOON", impact_score=80, ship_by=now + timedelta(hours=3))
    OrderFactory(tiktok_order_id="NOT-YOURS")

    # when
    html = client_for(member).get("/orders/").content.decode()

    # then
    assert ids_in(html) == ["SOON", "LATE", "LOW"]
    assert "NOT-YOURS" not in html
    assert "sla-urgent" in html and "h" in html and "m left" in html
    assert "2 × GL-LO" in html


def test_an_order_past_its_ship_by_says_overdue(member):
    order_of(member.account, ship_by=timezone.now() - timedelta(minutes=5))
    html = client_for(member).get("/orders/").content.decode()
    assert "sla-overdue" in html and "overdue" in html


def test_the_list_filters_by_status_and_priority_and_searches(member):
    # given
    order_of(member.account, tiktok_order_id="A1", status=OrderStatus.HELD, priority_level="VIRAL")
    order_of(member.account, tiktok_order_id="B2", status=OrderStatus.READY, priority_level="VIRAL")
    order_of(
        member.account,
        tiktok_order_id="C3",
        status=OrderStatus.READY,
        priority_level="AUTO",
        recipient_name="Maya Chen",
    )
    client = client_for(member)

    # then
    assert ids_in(client.get("/orders/?status=held").content.decode()) == ["A1"]
    assert sorted(ids_in(client.get("/orders/?priority=VIRAL").content.decode())) == ["A1", "B2"]
    assert ids_in(client.get("/orders/?q=maya").content.decode()) == ["C3"]
    assert ids_in(client.get("/orders/?q=B2").content.decode()) == ["B2"]
    assert len(ids_in(client.get("/orders/?q=gl-lo").content.decode())) == 3
    assert len(ids_in(client.get("/orders/?status=bogus").content.decode())) == 3


def test_htmx_gets_the_rows_that_poll_with_the_filters_and_keep_the_selection(member):
    # given
    order = order_of(member.account, status=OrderStatus.HELD)

    # when
    response = client_for(member).get(f"/orders/?status=held&ids={order.pk}", headers=HTMX)

    # then
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="rows"')
    assert 'hx-trigger="every 15s"' in html and "status=held" in html
    assert f'value="{order.pk}" form="bulk-form"' in html and "checked" in html


def test_the_list_costs_the_same_queries_for_5_or_25_orders(member):
    client = client_for(member)
    for _ in range(5):
        order_of(member.account)
    client.get("/orders/")
    with CaptureQueriesContext(connection) as few:
        client.get("/orders/")
    for _ in range(20):
        order_of(member.account)
    with CaptureQueriesContext(connection) as many:
        client.get("/orders/")
    assert len(many) == len(few)


def test_the_review_queue_lists_what_waits_for_a_person_with_its_reasons(member):
    # given
    order_of(member.account, tiktok_order_id="H", status=OrderStatus.HELD, hold_reason="Over $500")
    order_of(
        member.account,
        tiktok_order_id="N",
        status=OrderStatus.NEEDS_ATTENTION,
        attention_reason="Unknown SKU",
    )
    order_of(member.account, tiktok_order_id="B", status=OrderStatus.BACKORDERED)
    order_of(member.account, tiktok_order_id="R", status=OrderStatus.READY)
    client = client_for(member)

    # when
    html = client.get("/orders/review/").content.decode()

    # then
    assert sorted(ids_in(html)) == ["B", "H", "N"]
    assert "Over $500" in html and "Unknown SKU" in html
    with CaptureQueriesContext(connection) as few:
        client.get("/orders/review/")
    for _ in range(10):
        order_of(member.account, status=OrderStatus.HELD)
    with CaptureQueriesContext(connection) as many:
        client.get("/orders/review/")
    assert len(many) == len(few)


def test_the_order_page_shows_items_reasons_priority_and_timeline(member):
    # given
    order = order_of(
        member.account,
        status=OrderStatus.HELD,
        hold_reason="Big order",
        priority_level="HIGH",
        impact_score=72,
        priority_reasons=["Express delivery"],
        recipient_name="Maya Chen",
        tags=["vip"],
    )
    OrderEventFactory(order=order, message="Held by rule Big orders")

    # when
    html = client_for(member).get(f"/orders/{order.pk}/").content.decode()

    # then
    assert "GL-LO" in html and "9.50 USD" in html
    assert "Big order" in html and "HIGH" in html and "72" in html and "Express delivery" in html
    assert "Held by rule Big orders" in html and "Maya Chen" in html and "vip" in html
    assert "Approve" in html


def test_hold_then_cancel_through_htmx_and_tags(member):
    # given
    sku = stocked_sku(account=member.account)
    order = order_of(member.account, status=OrderStatus.READY)
    order.items.update(sku=sku)
    client = client_for(member)
    hx = {"HX-Request": "true"}

    # when held
    html = client.post(f"/orders/{order.pk}/hold/", {"reason": "Check address"}, headers=hx).content.decode()
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.HELD and order.hold_reason == "Check address"
    assert html.lstrip().startswith('<div id="order-main"') and "Order held." in html

    # when tagged
    client.post(f"/orders/{order.pk}/tags/", {"tags": "vip, gift"}, headers=hx)
    order.refresh_from_db()
    assert order.tags == ["vip", "gift"] or sorted(order.tags) == ["gift", "vip"]

    # when cancelled (no htmx: redirect back)
    response = client.post(f"/orders/{order.pk}/cancel/", {"reason": "Buyer asked"})
    order.refresh_from_db()
    assert response.status_code == 302 and order.status == OrderStatus.CANCELLED


def test_a_refused_action_shows_inline(member):
    # given a held order without reserved stock
    order = order_of(member.account, status=OrderStatus.HELD)

    # when
    response = client_for(member).post(f"/orders/{order.pk}/approve/", headers={"HX-Request": "true"})

    # then
    assert response.status_code == 200
    assert "msg-error" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.HELD


def test_backorder_substitute_needs_a_known_sku(member):
    order = order_of(member.account, status=OrderStatus.BACKORDERED)
    html = (
        client_for(member)
        .post(
            f"/orders/{order.pk}/backorder/",
            {"option": "substitute", "substitute_sku": "NOPE"},
            headers={"HX-Request": "true"},
        )
        .content.decode()
    )
    assert "No SKU with this code" in html
    order.refresh_from_db()
    assert order.status == OrderStatus.BACKORDERED


def test_backorder_cancel(member):
    order = order_of(member.account, status=OrderStatus.BACKORDERED)
    page = client_for(member).get(f"/orders/{order.pk}/").content.decode()
    assert "Ship what is in stock" in page and "Wait for stock" in page
    client_for(member).post(f"/orders/{order.pk}/backorder/", {"option": "cancel"})
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_bulk_hold_acts_on_the_selection_only(member):
    # given
    sku = stocked_sku(account=member.account)
    chosen = [order_of(member.account, status=OrderStatus.READY) for _ in range(2)]
    other = order_of(member.account, status=OrderStatus.READY)
    foreign = OrderFactory(status=OrderStatus.READY)
    Order.objects.filter(pk__in=[o.pk for o in chosen]).update()
    for order in chosen:
        order.items.update(sku=sku)

    # when
    response = client_for(member).post(
        "/orders/bulk/",
        {
            "action": "hold",
            "reason": "Stock check",
            "ids": [str(o.pk) for o in chosen] + [str(foreign.pk), "junk"],
            "next": "/orders/review/",
        },
    )

    # then
    assert response.status_code == 302 and response.url == "/orders/review/"
    assert set(Order.objects.filter(status=OrderStatus.HELD).values_list("pk", flat=True)) == {
        o.pk for o in chosen
    }
    other.refresh_from_db()
    foreign.refresh_from_db()
    assert other.status == OrderStatus.READY and foreign.status == OrderStatus.READY


def test_viewers_read_but_cannot_act(viewer):
    order = order_of(viewer.account, status=OrderStatus.HELD)
    client = client_for(viewer)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'action="/orders/' not in page
    assert 'form="bulk-form"' not in client.get("/orders/").content.decode()
    assert client.post(f"/orders/{order.pk}/hold/", {"reason": "x"}).status_code == 403
    assert client.post("/orders/bulk/", {"action": "cancel", "ids": [str(order.pk)]}).status_code == 403


def test_htmx_post_without_a_csrf_token_is_refused(member):
    order = order_of(member.account, status=OrderStatus.READY)
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user)
    response = client.post(f"/orders/{order.pk}/hold/", {"reason": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 403


@pytest.mark.parametrize("suffix", ["", "tags/"])
def test_order_urls_are_tenant_scoped(member, suffix):
    order = order_of(member.account, status=OrderStatus.READY)
    method = "post" if suffix else "get"
    assert_other_account_gets_404(
        f"/orders/{order.pk}/{suffix}", owner=member, method=method, data={"tags": "a"} if suffix else None
    )


@pytest.mark.parametrize("action", ["hold", "cancel", "approve", "backorder"])
def test_order_actions_are_tenant_scoped(member, action):
    order = order_of(member.account, status=OrderStatus.HELD)
    assert_other_account_gets_404(
        f"/orders/{order.pk}/{action}/", owner=member, method="post", data={"reason": "x", "option": "wait"}
    )


def test_home_shows_the_automation_rate(member):
    # given 3 automated, 1 touched, 1 held, 1 cancelled (ignored)
    for _ in range(3):
        order_of(member.account, status=OrderStatus.SHIPPED)
    order_of(member.account, status=OrderStatus.SHIPPED, touched_by_human=True)
    order_of(member.account, status=OrderStatus.HELD)
    order_of(member.account, status=OrderStatus.CANCELLED)

    # when
    html = client_for(member).get("/").content.decode()

    # then
    assert "60.0%" in html and "goal 95%" in html and "3 of 5 orders" in html
