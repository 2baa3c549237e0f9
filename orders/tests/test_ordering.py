"""Working the queue: open orders come first, whatever score a closed one was once given."""

import pytest

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import client_for
from orders.models import OrderStatus
from orders.selectors import order_list
from orders.tests.factories import OrderFactory
from tiktok.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders():
    owner = MembershipFactory()
    shop = ShopFactory(account=owner.account)
    cancelled = OrderFactory(shop=shop, status=OrderStatus.CANCELLED, impact_score=90, tiktok_order_id="1")
    shipped = OrderFactory(shop=shop, status=OrderStatus.SHIPPED, impact_score=80, tiktok_order_id="2")
    routine = OrderFactory(shop=shop, status=OrderStatus.READY, impact_score=10, tiktok_order_id="3")
    urgent = OrderFactory(shop=shop, status=OrderStatus.READY, impact_score=70, tiktok_order_id="4")
    return owner, [urgent, routine, cancelled, shipped]


def test_the_dashboard_list_puts_open_orders_first(orders):
    owner, expected = orders
    assert [o.tiktok_order_id for o in order_list(account=owner.account)] == [
        o.tiktok_order_id for o in expected
    ]


def test_the_api_list_puts_open_orders_first(orders):
    owner, expected = orders
    body = client_for(owner, api=True).get("/api/orders/").json()
    assert [o["tiktok_order_id"] for o in body["orders"]] == [o.tiktok_order_id for o in expected]
