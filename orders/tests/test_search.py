"""One search for orders, on the dashboard and in the API alike."""

import pytest

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import client_for
from inventory.tests.factories import stocked_sku
from orders.tests.factories import OrderFactory, OrderItemFactory
from tiktok.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_and_order():
    owner = MembershipFactory()
    sku = stocked_sku(account=owner.account, seller_sku="GL-LO-CLR")
    order = OrderFactory(
        shop=ShopFactory(account=owner.account),
        tiktok_order_id="576653688135258178",
        recipient_name="Jamie Rivera",
    )
    # TikTok sent no seller SKU on this line; it was matched to our SKU by its TikTok id
    OrderItemFactory(order=order, sku=sku, seller_sku="", tiktok_sku_id="1729592969712207000")
    OrderFactory(shop=order.shop, tiktok_order_id="999", recipient_name="Someone Else")
    return owner, order


@pytest.mark.parametrize("term", ["258178", "jamie", "lo-clr", "1729592969712207000"])
def test_each_kind_of_term_finds_the_order_on_the_dashboard_and_in_the_api(owner_and_order, term):
    owner, order = owner_and_order
    page = client_for(owner).get("/orders/", {"q": term})
    api = client_for(owner, api=True).get("/api/orders/", {"search": term}).json()
    assert [o["tiktok_order_id"] for o in api["orders"]] == [order.tiktok_order_id]
    assert order.tiktok_order_id in page.content.decode() and "Someone Else" not in page.content.decode()
