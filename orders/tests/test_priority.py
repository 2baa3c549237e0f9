"""Priority scoring against worked examples (weights in orders/priority.py's docstring)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import AccountFactory
from inventory.tests.factories import stocked_sku
from inventory.viral import set_viral_source, skus_in_viral_spike
from orders.priority import PriorityResult, score_order
from orders.tests.order_rows import order_row

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def account():
    return AccountFactory()


@pytest.fixture
def viral_skus():
    """Installs a viral source answering from this set (the seam the viral issue will fill)."""
    spiking: set[str] = set()
    previous = set_viral_source(lambda sku_ids: {i for i in sku_ids if i in spiking})
    yield spiking
    set_viral_source(previous)


def test_nothing_special_is_auto_in_the_bulk_queue(account):
    # given a $25 standard order with plenty of stock, due in 3 days
    sku = stocked_sku(account=account, on_hand=500, seller_sku="GL-LO-BER")
    order = order_row(account, items=[(sku, 1)], ship_by=NOW + timedelta(days=3))
    # when
    result = score_order(order, now=NOW)
    # then
    assert result == PriorityResult(level="AUTO", score=0, reasons=[], queue="bulk")


def test_deadline_in_two_hours_is_high_and_express(account):
    # given an order due in 2 h 10 min
    order = order_row(account, ship_by=NOW + timedelta(hours=2, minutes=10))
    # when
    result = score_order(order, now=NOW)
    # then
    assert result == PriorityResult(level="HIGH", score=70, reasons=["Ships within 3 h"], queue="express")


def test_overdue_order(account):
    order = order_row(account, ship_by=NOW - timedelta(minutes=90))
    assert score_order(order, now=NOW) == PriorityResult("HIGH", 80, ["Overdue by 2 h"], "express")


def test_express_delivery_goes_to_the_express_queue_at_auto_level(account):
    # given an express order with no deadline known
    order = order_row(account, delivery_option_name="Next Day Air")
    # when
    result = score_order(order, now=NOW)
    # then
    assert result == PriorityResult(level="AUTO", score=25, reasons=["Express delivery"], queue="express")


def test_high_value_due_tomorrow_is_med(account):
    # given a $182 order due in 20 h
    order = order_row(account, total=Decimal("182.00"), ship_by=NOW + timedelta(hours=20))
    # when
    result = score_order(order, now=NOW)
    # then 35 + 15
    assert result == PriorityResult(
        level="MED", score=50, reasons=["Ships within 20 h", "High value: $182.00"], queue="standard"
    )


def test_scarce_sku_with_deadline_and_express_adds_up(account):
    # given a low-stock SKU (5 left, threshold 10) on a priority order due in 10 h
    sku = stocked_sku(account=account, on_hand=5, seller_sku="GL-SS-30")
    order = order_row(
        account, items=[(sku, 1)], ship_by=NOW + timedelta(hours=10), delivery_option_name="Priority Mail"
    )
    # when
    result = score_order(order, now=NOW)
    # then 50 + 25 + 15
    assert result == PriorityResult(
        level="HIGH",
        score=90,
        reasons=["Ships within 10 h", "Express delivery", "Low stock: GL-SS-30"],
        queue="express",
    )


def test_low_days_of_cover_counts_as_scarce(account):
    # given a SKU with stock above its threshold but under 3 days of cover
    sku = stocked_sku(account=account, on_hand=500, seller_sku="GL-FAST")
    type(sku).objects.filter(pk=sku.pk).update(summary_days_of_cover=1.5)
    order = order_row(account, items=[(sku, 2)])
    # when / then
    assert score_order(order, now=NOW) == PriorityResult("AUTO", 15, ["Low stock: GL-FAST"], "standard")


def test_score_is_capped_at_100(account):
    sku = stocked_sku(account=account, on_hand=0, seller_sku="GL-OUT")
    order = order_row(
        account,
        items=[(sku, 1)],
        total=Decimal("300.00"),
        ship_by=NOW - timedelta(hours=1),
        delivery_option_name="EXPRESS",
    )
    assert score_order(order, now=NOW).score == 100


def test_viral_sku_makes_the_order_viral_whatever_the_score(account, viral_skus):
    # given a SKU in a viral spike and another one that is not
    hot = stocked_sku(account=account, on_hand=500, seller_sku="GL-LO-CLR")
    calm = stocked_sku(account=account, on_hand=500, seller_sku="GL-LO-BER")
    viral_skus.add(str(hot.pk))
    order = order_row(account, items=[(calm, 1), (hot, 2)], ship_by=NOW + timedelta(days=4))
    # when
    result = score_order(order, now=NOW)
    # then
    assert result == PriorityResult(
        level="VIRAL", score=30, reasons=["Viral SKU: GL-LO-CLR"], queue="express"
    )


def test_no_viral_source_means_no_spikes(account):
    sku = stocked_sku(account=account)
    assert skus_in_viral_spike(sku_ids=[sku.pk]) == set()


def test_unmapped_items_count_only_towards_the_total(account):
    order = order_row(account, items=[("UNKNOWN-1", 3)], ship_by=NOW + timedelta(hours=30))
    assert score_order(order, now=NOW) == PriorityResult("AUTO", 15, ["Ships within 30 h"], "standard")


def test_scoring_is_deterministic(account):
    sku = stocked_sku(account=account, on_hand=3, seller_sku="B")
    other = stocked_sku(account=account, on_hand=3, seller_sku="A")
    order = order_row(account, items=[(sku, 1), (other, 1)], ship_by=NOW + timedelta(hours=5))
    first = score_order(order, now=NOW)
    assert first.reasons == ["Ships within 5 h", "Low stock: B, A"]
    assert all(score_order(order, now=NOW) == first for _ in range(3))
