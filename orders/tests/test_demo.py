"""The demo loader's orders: a day of TikTok orders in every state intake reaches, idempotent."""

import time

import pytest
from django.core.management import call_command

from accounts.models import Account
from orders.models import AutomationRule, Order, OrderEvent, OrderItem, OrderStatus
from tiktok.models import Shop

pytestmark = pytest.mark.django_db

MODELS = (Shop, Order, OrderItem, OrderEvent, AutomationRule)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_the_demo_shop_has_a_day_of_orders_in_every_state_and_loading_twice_changes_nothing():
    # when the demo is loaded
    started = time.monotonic()
    call_command("load_demo", stdout=open("/dev/null", "w"))
    elapsed = time.monotonic() - started
    first = counts()
    account = Account.objects.get(name__contains="demo")

    # then the demo shop has a realistic day of orders and the two rules
    shop = Shop.objects.get(shop_id="7495540735365777507")
    assert shop.account == account and shop.name == "Glow Lab Official" and shop.region == "US"
    orders = Order.objects.filter(account=account)
    assert 60 <= orders.count() <= 120
    assert set(AutomationRule.objects.filter(account=account).values_list("name", flat=True)) == {
        "Hold orders over $150 for review",
        "Tag sample orders",
    }
    # every state intake can reach, plus what TikTok and people moved on
    statuses = set(orders.values_list("status", flat=True))
    reachable = {
        OrderStatus.RECEIVED,  # unpaid
        OrderStatus.RESERVED,  # TikTok ON_HOLD
        OrderStatus.READY,
        OrderStatus.HELD,
        OrderStatus.BACKORDERED,
        OrderStatus.NEEDS_ATTENTION,
        OrderStatus.CANCELLED,
        OrderStatus.SHIPPED,
        OrderStatus.IN_TRANSIT,
    }
    assert reachable <= statuses, reachable - statuses
    assert orders.filter(
        status=OrderStatus.NEEDS_ATTENTION, attention_reason__contains="GL-LO-GLITTER"
    ).exists()
    assert orders.filter(status=OrderStatus.HELD, hold_reason__contains="$150").exists()
    assert any("sample" in tags for tags in orders.values_list("tags", flat=True))
    assert orders.exclude(priority_level="AUTO").exists()
    assert elapsed < 20  # the whole demo (inventory and orders); orders alone are a few seconds

    # and loading it again changes nothing
    call_command("load_demo", stdout=open("/dev/null", "w"))
    assert counts() == first
