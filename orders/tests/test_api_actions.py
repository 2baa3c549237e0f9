"""POST /api/orders/{id}/approve|hold|cancel|rerun-rules: the order back, 409 on a forbidden move."""

from __future__ import annotations

import pytest

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from orders.models import OrderStatus
from orders.tests.test_api import ORDER_FIELDS, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return MembershipFactory(role=Role.OWNER)


@pytest.fixture
def api(owner):
    return client_for(owner, api=True)


def post(client, url, data=None):
    return client.post(url, data=data or {}, content_type="application/json")


def test_hold_answers_the_held_order(owner, api):
    order = make_order(owner.account, status=OrderStatus.READY)
    response = post(api, f"/api/orders/{order.pk}/hold", {"reason": "Check the address"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ORDER_FIELDS and body["status"] == "held"
    order.refresh_from_db()
    assert order.hold_reason == "Check the address"


@pytest.mark.parametrize("data", [{}, {"reason": ""}, {"reason": "x" * 501}])
def test_hold_needs_a_reason(owner, api, data):
    order = make_order(owner.account, status=OrderStatus.READY)
    response = post(api, f"/api/orders/{order.pk}/hold", data)
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    order.refresh_from_db()
    assert order.status == OrderStatus.READY


def test_cancel_with_or_without_reason(owner, api):
    first = make_order(owner.account, status=OrderStatus.READY)
    second = make_order(owner.account, status=OrderStatus.HELD)
    assert post(api, f"/api/orders/{first.pk}/cancel").json()["status"] == "cancelled"
    response = post(api, f"/api/orders/{second.pk}/cancel", {"reason": "Customer asked"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_forbidden_moves_are_409_invalid_transition(owner, api):
    shipped = make_order(owner.account, status=OrderStatus.SHIPPED)
    ready = make_order(owner.account, status=OrderStatus.READY)
    for url, data in (
        (f"/api/orders/{shipped.pk}/cancel", None),
        (f"/api/orders/{shipped.pk}/hold", {"reason": "late"}),
        (f"/api/orders/{ready.pk}/approve", None),  # only held / needs-attention orders are approved
    ):
        response = post(api, url, data)
        assert response.status_code == 409, url
        assert response.json()["error"]["code"] == "invalid_transition"
    shipped.refresh_from_db()
    assert shipped.status == OrderStatus.SHIPPED


def test_approve_a_held_order_with_its_stock_reserved(owner, api):
    from inventory.services.stock import ReservationLine, stock_reserve
    from inventory.tests.factories import stocked_sku

    sku = stocked_sku(account=owner.account, seller_sku="GL-LO-BER")
    order = make_order(owner.account, status=OrderStatus.HELD, hold_reason="Over $150")
    order.items.update(sku=sku)
    stock_reserve(
        account=owner.account, order_ref=order.reservation_ref, lines=[ReservationLine(sku.pk, 1)], actor=None
    )
    response = post(api, f"/api/orders/{order.pk}/approve")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_rerun_rules_answers_the_order(owner, api):
    order = make_order(owner.account, status=OrderStatus.READY)
    response = post(api, f"/api/orders/{order.pk}/rerun-rules")
    assert response.status_code == 200
    assert response.json()["id"] == str(order.pk)


@pytest.mark.parametrize(
    "action, data", [("approve", None), ("hold", {"reason": "x"}), ("cancel", None), ("rerun-rules", None)]
)
def test_viewer_is_403_json(owner, action, data):
    viewer = MembershipFactory(account=owner.account, role=Role.VIEWER)
    order = make_order(owner.account, status=OrderStatus.HELD)
    for client in (client_for(viewer, api=True), client_for(viewer)):
        response = post(client, f"/api/orders/{order.pk}/{action}", data)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    order.refresh_from_db()
    assert order.status == OrderStatus.HELD


def test_session_auth_can_act(owner):
    order = make_order(owner.account, status=OrderStatus.READY)
    response = post(client_for(owner), f"/api/orders/{order.pk}/hold", {"reason": "Check"})
    assert response.status_code == 200


@pytest.mark.parametrize("action, data", [("hold", {"reason": "x"}), ("cancel", {}), ("rerun-rules", {})])
def test_actions_are_tenant_scoped(owner, action, data):
    order = make_order(owner.account, status=OrderStatus.READY)
    assert_other_account_gets_404(
        f"/api/orders/{order.pk}/{action}", owner=owner, api=True, method="post", data=data
    )


def test_approve_is_tenant_scoped(owner):
    from inventory.services.stock import ReservationLine, stock_reserve
    from inventory.tests.factories import stocked_sku

    sku = stocked_sku(account=owner.account)
    order = make_order(owner.account, status=OrderStatus.HELD)
    order.items.update(sku=sku)
    stock_reserve(
        account=owner.account, order_ref=order.reservation_ref, lines=[ReservationLine(sku.pk, 1)], actor=None
    )
    assert_other_account_gets_404(
        f"/api/orders/{order.pk}/approve", owner=owner, api=True, method="post", data={}
    )


def test_unknown_order_action_is_404(api):
    assert post(api, "/api/orders/not-a-uuid/approve").status_code == 404
