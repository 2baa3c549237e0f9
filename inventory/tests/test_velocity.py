"""Velocity, cover, hourly units and reorder suggestions, against worked examples."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import AccountFactory
from inventory.models import SKU, PurchaseOrder, PurchaseOrderLine, Reservation, StockLevel
from inventory.tests.factories import SupplierFactory, stocked_sku
from inventory.velocity import (
    hourly_units,
    refresh_avg_monthly_sales,
    reorder_suggestion,
    sku_velocity,
    velocities,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


def sold(sku, quantity, *, ago, status="consumed"):
    """A reservation (demand) made `ago` before NOW."""
    warehouse_id = StockLevel.objects.filter(sku=sku).values_list("warehouse_id", flat=True)[0]
    return Reservation.objects.create(
        account=sku.account,
        sku=sku,
        warehouse_id=warehouse_id,
        order_ref=f"order:{Reservation.objects.count()}",
        quantity=quantity,
        status=status,
        created_at=NOW - ago,
    )


def surging_sku(account):
    """Worked example: 100 on hand; 48 units 10 days ago, 12 the day before yesterday-ish
    (30 h ago), 20 five hours ago, 4 half an hour ago."""
    sku = stocked_sku(account=account, on_hand=100, lead_time_days=5)
    sold(sku, 48, ago=timedelta(days=10))
    sold(sku, 12, ago=timedelta(hours=30))
    sold(sku, 20, ago=timedelta(hours=5))
    sold(sku, 4, ago=timedelta(minutes=30))
    sold(sku, 3, ago=-timedelta(hours=1))  # after NOW: never counted
    return sku


def test_velocity_of_a_surging_sku():
    # given the worked example
    sku = surging_sku(AccountFactory())

    # when
    v = sku_velocity(sku=sku, now=NOW)

    # then: 84 units over the 240 h since the first sale = 0.35 an hour on average
    assert v.avg_per_hour == pytest.approx(84 / 240)
    assert v.now_per_hour == 4  # the last hour
    assert v.peak_per_hour == 20  # the busiest clock hour in 7 days (the 48 are 10 days old)
    assert v.trend == "rising"  # 24 in the last day against 12 the day before
    # cover uses the faster of average (0.35/h) and last day (1/h): 100 units last 100 hours
    assert v.available == 100
    assert v.days_of_cover == pytest.approx(100 / 24)
    assert v.stockout_at == NOW + timedelta(hours=100)


def test_active_reservations_lower_what_is_available():
    sku = surging_sku(AccountFactory())
    sold(sku, 10, ago=timedelta(minutes=10), status="active")
    StockLevel.objects.filter(sku=sku).update(reserved=10)

    v = sku_velocity(sku=sku, now=NOW)

    assert (v.available, v.now_per_hour) == (90, 14)


def test_a_young_sku_averages_over_its_own_life_and_a_silent_one_is_zero():
    account = AccountFactory()
    young = stocked_sku(account=account, on_hand=30)
    sold(young, 6, ago=timedelta(hours=2))
    silent = stocked_sku(account=account, on_hand=30)

    found = velocities(account=account, sku_ids=[young.pk, silent.pk], now=NOW)

    assert found[str(young.pk)].avg_per_hour == pytest.approx(3.0)  # 6 units in its 2 hours
    assert found[str(young.pk)].days_of_cover == pytest.approx(30 / 3 / 24)
    quiet = found[str(silent.pk)]
    assert (quiet.avg_per_hour, quiet.peak_per_hour, quiet.trend) == (0, 0, "steady")
    assert (quiet.days_of_cover, quiet.stockout_at) == (None, None)


def test_falling_and_steady_trends():
    account = AccountFactory()
    falling, steady = stocked_sku(account=account), stocked_sku(account=account)
    sold(falling, 10, ago=timedelta(hours=30))
    sold(falling, 7, ago=timedelta(hours=3))  # 7 < 10 - 20 %
    sold(steady, 10, ago=timedelta(hours=30))
    sold(steady, 9, ago=timedelta(hours=3))  # within 20 %

    found = velocities(account=account, sku_ids=[falling.pk, steady.pk], now=NOW)

    assert (found[str(falling.pk)].trend, found[str(steady.pk)].trend) == ("falling", "steady")


def test_velocities_cost_the_same_queries_for_one_sku_or_a_page_and_skip_foreign_ids(
    django_assert_num_queries,
):
    # given an account with six selling SKUs, and another account's SKU
    account = AccountFactory()
    skus = [surging_sku(account) for _ in range(6)]
    foreign = surging_sku(AccountFactory())

    # when / then: three queries either way
    with django_assert_num_queries(3):
        one = velocities(account=account, sku_ids=[skus[0].pk], now=NOW)
    with django_assert_num_queries(3):
        page = velocities(account=account, sku_ids=[s.pk for s in skus] + [foreign.pk], now=NOW)
    assert len(one) == 1 and set(page) == {str(s.pk) for s in skus}
    # and the batched figures are the single ones (all six SKUs sold alike)
    assert replace(page[str(skus[3].pk)], sku_id=str(skus[0].pk)) == one[str(skus[0].pk)]


def test_hourly_units_are_clock_hours_oldest_first():
    sku = surging_sku(AccountFactory())

    # 07:00 .. 12:00 UTC: 20 at 07:30, 4 at 12:00
    assert hourly_units(sku=sku, hours=6, now=NOW) == [20, 0, 0, 0, 0, 4]
    assert len(hourly_units(sku=sku, now=NOW)) == 48
    assert sum(hourly_units(sku=sku, now=NOW)) == 36  # 12 + 20 + 4: the 48 units are older


def test_reorder_covers_lead_time_and_safety_minus_stock_and_open_purchase_orders():
    # given the surging SKU (24 a day, 100 available, 5 days lead time) and its purchase orders
    account = AccountFactory()
    sku = surging_sku(account)
    supplier = SupplierFactory(account=account)
    warehouse = StockLevel.objects.get(sku=sku).warehouse
    for number, status, ordered, received in [
        ("PO-1", PurchaseOrder.Status.SENT, 50, 10),  # 40 still to come
        ("PO-2", PurchaseOrder.Status.DRAFT, 100, 0),  # not ordered yet
        ("PO-3", PurchaseOrder.Status.RECEIVED, 30, 30),  # done
    ]:
        po = PurchaseOrder.objects.create(
            account=account, number=number, supplier=supplier, warehouse=warehouse, status=status
        )
        PurchaseOrderLine.objects.create(
            purchase_order=po, sku=sku, quantity_ordered=ordered, quantity_received=received
        )

    # when
    suggestion = reorder_suggestion(sku=sku, now=NOW)

    # then 24/day x (5 + 7) days = 288, minus 100 available, minus 40 on order = 148
    assert (suggestion.per_day, suggestion.lead_time_days, suggestion.safety_days) == (24, 5, 7)
    assert (suggestion.available, suggestion.on_order, suggestion.quantity) == (100, 40, 148)
    # confidence: enough volume (84 units, 10 days), but spiky: daily totals 24, 12, 0, 0, 0, 0, 0
    assert suggestion.confidence == pytest.approx(0.37)


def test_a_steady_seller_is_trusted_more_and_a_well_stocked_one_needs_nothing():
    account = AccountFactory()
    steady = stocked_sku(account=account, on_hand=10_000)
    for day in range(14):
        sold(steady, 10, ago=timedelta(days=day, hours=1))

    suggestion = reorder_suggestion(sku=steady, now=NOW)

    assert suggestion.quantity == 0  # 10_000 units cover far more than 14 days
    assert suggestion.confidence > 0.9
    assert reorder_suggestion(sku=stocked_sku(account=account), now=NOW).confidence == 0


def test_nightly_refresh_sets_average_monthly_sales():
    # given the worked example (0.35 an hour) and a silent SKU with a stale figure
    account = AccountFactory()
    sku = surging_sku(account)
    silent = stocked_sku(account=account, avg_monthly_sales=Decimal("90"))

    # when it runs twice
    changed = refresh_avg_monthly_sales(account=account, now=NOW)
    again = refresh_avg_monthly_sales(account=account, now=NOW)

    # then 0.35 x 720 hours = 252 a month, the silent one drops to 0, and the rerun changes nothing
    assert (changed, again) == (2, 0)
    assert SKU.objects.get(pk=sku.pk).avg_monthly_sales == Decimal("252.00")
    assert SKU.objects.get(pk=silent.pk).avg_monthly_sales == 0
