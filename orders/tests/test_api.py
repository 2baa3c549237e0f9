"""GET /api/orders/ and /api/orders/{id} (CONTRACT.md section 3): shape, filters, search, paging."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from inventory.tests.factories import SKUFactory
from orders.models import Order, OrderItem, OrderStatus, PriorityLevel
from tiktok.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

LIST = "/api/orders/"
ORDER_FIELDS = {
    "id",
    "tiktok_order_id",
    "shop",
    "status",
    "tiktok_status",
    "priority",
    "ship_by",
    "items",
    "total",
    "shipment",
    "created_at",
    "updated_at",
}
_numbers = iter(range(576000000000000000, 577000000000000000))


def make_order(account, *, shop=None, items=(("GL-LO-BER", 1, "14.00"),), **fields) -> Order:
    """An order row with items, written directly (the API only reads it)."""
    shop = shop or ShopFactory(account=account)
    defaults = {
        "tiktok_order_id": str(next(_numbers)),
        "tiktok_status": "AWAITING_SHIPMENT",
        "status": OrderStatus.READY,
        "recipient_name": "Jamie Rivera",
        "ship_by": timezone.now() + timedelta(hours=24),
        "total": Decimal("18.99"),
    }
    defaults.update(fields)
    order = Order.objects.create(account=account, shop=shop, **defaults)
    for index, (seller_sku, quantity, price) in enumerate(items):
        OrderItem.objects.create(
            order=order,
            seller_sku=seller_sku,
            tiktok_sku_id=f"17295929697122{index:05d}",
            product_name="Cloud Jelly Lip Oil",
            sku_name="Berry",
            quantity=quantity,
            unit_price=Decimal(price),
        )
    return order


@pytest.fixture
def owner():
    return MembershipFactory(role=Role.OWNER)


@pytest.fixture
def shop(owner):
    return ShopFactory(account=owner.account, name="Glow Lab Official", shop_id="7495540735365777507")


@pytest.fixture
def api(owner):
    return client_for(owner, api=True)


def test_detail_has_exactly_the_contract_fields(owner, shop, api):
    # given an order of two SKUs
    sku = SKUFactory(product__account=owner.account, seller_sku="GL-GS-30", name="Dewy Skin Glow Serum 30 ml")
    order = make_order(
        owner.account,
        shop=shop,
        items=(("GL-LO-BER", 2, "14.00"), ("GL-GS-30", 1, "28.00")),
        total=Decimal("60.99"),
        priority_level=PriorityLevel.HIGH,
        impact_score=72,
        priority_reasons=["Ships within 6 hours"],
    )
    OrderItem.objects.filter(order=order, seller_sku="GL-GS-30").update(sku=sku)

    # when it is read
    response = api.get(f"/api/orders/{order.pk}")

    # then every field of the contract is there, and nothing else
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ORDER_FIELDS
    assert body["id"] == str(order.pk)
    assert body["tiktok_order_id"] == order.tiktok_order_id
    assert body["shop"] == {"id": str(shop.pk), "name": "Glow Lab Official", "shop_id": "7495540735365777507"}
    assert body["status"] == "ready" and body["tiktok_status"] == "AWAITING_SHIPMENT"
    assert body["priority"] == {"level": "HIGH", "impact_score": 72, "reasons": ["Ships within 6 hours"]}
    assert body["items"] == [
        {"sku": "GL-LO-BER", "name": "Cloud Jelly Lip Oil Berry", "quantity": 2, "unit_price": "14.00"},
        {"sku": "GL-GS-30", "name": "Dewy Skin Glow Serum 30 ml", "quantity": 1, "unit_price": "28.00"},
    ]
    assert body["total"] == {"amount": "60.99", "currency": "USD"}
    assert body["shipment"] is None
    for key in ("ship_by", "created_at", "updated_at"):
        assert body[key].endswith("Z"), key  # ISO-8601 in UTC


def test_list_envelope_sorted_by_priority_then_ship_by(owner, shop, api):
    # given orders of different impact and ship-by times
    now = timezone.now()
    low = make_order(owner.account, shop=shop, impact_score=10, ship_by=now + timedelta(hours=2))
    high_late = make_order(owner.account, shop=shop, impact_score=80, ship_by=now + timedelta(hours=30))
    high_soon = make_order(owner.account, shop=shop, impact_score=80, ship_by=now + timedelta(hours=3))
    no_ship_by = make_order(owner.account, shop=shop, impact_score=80, ship_by=None)

    # when the list is read
    body = api.get(LIST).json()

    # then the highest impact comes first, the earliest ship-by breaks ties (none last)
    assert set(body) == {"orders", "pagination"}
    assert body["pagination"] == {"page": 1, "limit": 50, "total": 4}
    ids = [o["id"] for o in body["orders"]]
    assert ids == [str(o.pk) for o in (high_soon, high_late, no_ship_by, low)]
    assert set(body["orders"][0]) == ORDER_FIELDS


def test_filters_by_status_and_priority(owner, shop, api):
    held = make_order(owner.account, shop=shop, status=OrderStatus.HELD, priority_level=PriorityLevel.MED)
    make_order(owner.account, shop=shop, status=OrderStatus.READY, priority_level=PriorityLevel.MED)
    viral = make_order(owner.account, shop=shop, status=OrderStatus.READY, priority_level=PriorityLevel.VIRAL)

    assert [o["id"] for o in api.get(LIST, {"status": "held"}).json()["orders"]] == [str(held.pk)]
    assert [o["id"] for o in api.get(LIST, {"priority": "VIRAL"}).json()["orders"]] == [str(viral.pk)]
    both = api.get(LIST, {"status": "ready", "priority": "MED"}).json()
    assert both["pagination"]["total"] == 1


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "AWAITING_SHIPMENT"}, "status"),  # TikTok's status, not ours
        ({"status": "nope"}, "status"),
        ({"priority": "URGENT"}, "priority"),
        ({"priority": "viral"}, "priority"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"search": "x" * 101}, "search"),
    ],
)
def test_bad_filter_values_are_400_json(api, params, field):
    response = api.get(LIST, params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert field in body["error"]["fields"]


def test_search_matches_tiktok_id_sku_and_customer_name(owner, shop, api):
    by_id = make_order(owner.account, shop=shop, tiktok_order_id="576461413038785752")
    by_sku = make_order(
        owner.account, shop=shop, items=(("GL-LO-BER", 1, "14.00"), ("GL-VL-RBY", 3, "18.00"))
    )
    by_name = make_order(owner.account, shop=shop, recipient_name="Priya Natarajan")
    make_order(owner.account, shop=shop)

    def found(term):
        return {o["id"] for o in api.get(LIST, {"search": term}).json()["orders"]}

    assert found("576461413038785752") == {str(by_id.pk)}
    assert found("5764614130") == {str(by_id.pk)}  # part of the id
    assert found("gl-vl-rby") == {str(by_sku.pk)}  # case-insensitive, one row per order
    assert found("natarajan") == {str(by_name.pk)}
    assert found("no such thing") == set()
    assert api.get(LIST, {"search": "GL-VL-RBY"}).json()["pagination"]["total"] == 1


def test_pages_of_fifty(owner, shop, api):
    for score in range(53):
        make_order(owner.account, shop=shop, impact_score=score)

    first = api.get(LIST).json()
    second = api.get(LIST, {"page": 2}).json()
    past = api.get(LIST, {"page": 3}).json()

    assert len(first["orders"]) == 50 and len(second["orders"]) == 3
    assert first["pagination"] == {"page": 1, "limit": 50, "total": 53}
    assert second["pagination"] == {"page": 2, "limit": 50, "total": 53}
    assert past == {"orders": [], "pagination": {"page": 3, "limit": 50, "total": 53}}
    assert [o["priority"]["impact_score"] for o in second["orders"]] == [2, 1, 0]


def test_list_query_count_does_not_grow_with_the_page(owner, shop, api):
    make_order(owner.account, shop=shop)
    with CaptureQueriesContext(connection) as one:
        assert api.get(LIST).status_code == 200
    for _ in range(20):
        make_order(owner.account, items=(("GL-LO-BER", 1, "14.00"), ("GL-GS-30", 2, "28.00")))
    with CaptureQueriesContext(connection) as many:
        assert len(api.get(LIST).json()["orders"]) == 21
    assert len(many.captured_queries) == len(one.captured_queries)


def test_list_shows_only_the_accounts_orders(owner, shop, api):
    mine = make_order(owner.account, shop=shop)
    other = MembershipFactory()
    make_order(other.account)
    assert [o["id"] for o in api.get(LIST).json()["orders"]] == [str(mine.pk)]


def test_detail_is_tenant_scoped(owner, shop):
    order = make_order(owner.account, shop=shop)
    assert_other_account_gets_404(f"/api/orders/{order.pk}", owner=owner, api=True)


@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid", "123"])
def test_unknown_or_malformed_id_is_404_json(api, order_id):
    response = api.get(f"/api/orders/{order_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_session_auth_and_viewer_may_read(owner, shop):
    viewer = MembershipFactory(account=owner.account, role=Role.VIEWER)
    order = make_order(owner.account, shop=shop)
    session = client_for(viewer)  # signed in, no token
    assert session.get(LIST).json()["pagination"]["total"] == 1
    assert session.get(f"/api/orders/{order.pk}").status_code == 200


def test_anonymous_is_401_or_403_json():
    from django.test import Client

    response = Client().get(LIST)
    assert response.status_code in (401, 403)
    assert "error" in response.json()
