"""Mark Package As Shipped against the sandbox: provider mapping, success, "already shipped",
refusals that need a person, and passing failures that the caller's task retries."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from inventory.tests.factories import stocked_sku
from orders.models import Order
from tiktok.facade import tiktok_mark_shipped
from tiktok.services import orders as orders_sync
from tiktok.services.shipping import match_provider
from tiktok.tests.connected import connect_sandbox_shop
from tiktok.wire import ServerError

BREAKER_KEYS = ["cb:v1:tiktok:failures", "cb:v1:tiktok:opened_at", "cb:v1:tiktok:trial"]
PROVIDERS = [
    {"id": "7117858858072016686", "name": "USPS"},
    {"id": "7117859084333745966", "name": "UPS"},
    {"id": "7129736293257611054", "name": "FedEx"},
    {"id": "7212608507307099950", "name": "DHL eCommerce"},
]
TRACKING = "9400111899223197428490"


@pytest.fixture
def closed_breaker(db):
    """TikTok's breaker lives in the shared cache: close it around each test that calls TikTok."""
    cache.delete_many(BREAKER_KEYS)
    yield
    cache.delete_many(BREAKER_KEYS)


@pytest.fixture
def ready_order(tiktok_sandbox, closed_breaker):
    """One of our orders, ready to ship, taken in from a sandbox order by the poll."""
    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    product = tiktok_sandbox.add_product(sb_shop["id"], title="Lip Oil", skus=[{"seller_sku": "LIP-1"}])
    sku_id = product["skus"][0]["id"]
    stocked_sku(account=shop.account, on_hand=10, tiktok_sku_id=sku_id, seller_sku="LIP-1")
    placed = tiktok_sandbox.create_order(sb_shop["id"], [(sku_id, 2)], notify=False)
    orders_sync.orders_poll(shop=shop)
    order = Order.objects.select_related("shop__authorization").get(tiktok_order_id=placed["id"])
    assert order.status == "ready"
    return order


@pytest.mark.parametrize(
    ("carrier", "provider"),
    [
        ("USPS", "USPS"),
        ("usps", "USPS"),
        ("U.S.P.S.", "USPS"),
        ("UPS", "UPS"),
        ("United Parcel Service", "UPS"),
        ("FedEx", "FedEx"),
        ("Federal Express", "FedEx"),
        ("fed-ex", "FedEx"),
        ("DHL", "DHL eCommerce"),
        ("dhl_ecommerce", "DHL eCommerce"),
        ("Pony Express", None),
        ("", None),
    ],
)
def test_carrier_names_map_onto_tiktok_providers(carrier, provider):
    found = match_provider(carrier, PROVIDERS)
    assert (found["name"] if found else None) == provider


def test_ups_never_matches_usps():
    assert match_provider("UPS", [{"id": "1", "name": "USPS"}]) is None
    assert match_provider("USPS", [{"id": "2", "name": "UPS"}]) is None


def test_marking_shipped_creates_the_package_and_ships_our_order(tiktok_sandbox, ready_order):
    result = tiktok_mark_shipped(order=ready_order, carrier_name="FedEx", tracking_number=TRACKING)

    assert (result.ok, result.already_shipped) == (True, False)
    assert result.package_id
    theirs = tiktok_sandbox.get_order(ready_order.tiktok_order_id)
    assert theirs["status"] == "AWAITING_COLLECTION"
    assert theirs["tracking_number"] == TRACKING
    assert theirs["shipping_provider_id"] == "7129736293257611054"
    ready_order.refresh_from_db()
    assert ready_order.status == "shipped"
    event = ready_order.events.get(type="tiktok_package")
    assert event.data["package_id"] == result.package_id
    assert event.data["shipping_provider"] == "FedEx"


def test_already_shipped_at_tiktok_counts_as_success(tiktok_sandbox, ready_order):
    first = tiktok_mark_shipped(order=ready_order, carrier_name="USPS", tracking_number=TRACKING)
    ready_order.refresh_from_db()

    again = tiktok_mark_shipped(order=ready_order, carrier_name="USPS", tracking_number=TRACKING)

    assert first.ok and not first.already_shipped
    assert (again.ok, again.already_shipped) == (True, True)
    ready_order.refresh_from_db()
    assert ready_order.status == "shipped"


def test_a_rejected_tracking_number_needs_attention_with_tiktoks_message(tiktok_sandbox, ready_order):
    result = tiktok_mark_shipped(order=ready_order, carrier_name="UPS", tracking_number="INVALID-42")

    assert result.ok is False
    assert "tracking number is invalid" in result.message
    ready_order.refresh_from_db()
    assert ready_order.status == "needs_attention"
    assert "tracking number is invalid" in ready_order.attention_reason
    assert tiktok_sandbox.get_order(ready_order.tiktok_order_id)["status"] == "AWAITING_SHIPMENT"


def test_a_carrier_tiktok_does_not_offer_needs_attention_naming_the_allowed_ones(tiktok_sandbox, ready_order):
    result = tiktok_mark_shipped(order=ready_order, carrier_name="Pony Express", tracking_number=TRACKING)

    assert result.ok is False
    ready_order.refresh_from_db()
    assert ready_order.status == "needs_attention"
    reason = ready_order.attention_reason
    assert "Pony Express" in reason
    assert all(name in reason for name in ("USPS", "UPS", "FedEx", "DHL eCommerce"))
    assert not [c for c in tiktok_sandbox.calls if c.template.endswith("/packages")]


def test_a_passing_failure_propagates_and_changes_nothing(tiktok_sandbox, ready_order):
    tiktok_sandbox.faults.fail_5xx = 100

    with pytest.raises(ServerError):
        tiktok_mark_shipped(order=ready_order, carrier_name="USPS", tracking_number=TRACKING)

    ready_order.refresh_from_db()
    assert ready_order.status == "ready"
    assert not ready_order.events.filter(type="tiktok_package").exists()
