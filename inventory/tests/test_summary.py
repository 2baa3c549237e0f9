"""The SKU stock summary follows committed stock changes, so status filters and sorts stay right."""

from decimal import Decimal

import pytest

from accounts.tests.factories import AccountFactory
from inventory.models import SKU, StockLevel
from inventory.selectors import sku_list, sku_status_counts
from inventory.services.stock import ReservationLine, stock_receive, stock_release, stock_reserve
from inventory.services.summary import stock_summary_refresh
from inventory.tests.factories import stocked_sku

pytestmark = pytest.mark.django_db


def names(account, **filters):
    return [sku.name for sku in sku_list(account=account, **filters)]


def test_a_reservation_that_crosses_the_threshold_moves_the_sku_to_low_and_back(
    django_capture_on_commit_callbacks,
):
    # given: 14 units, threshold 10 by default
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=14, name="Lip Oil")
    assert names(account, status="in_stock") == ["Lip Oil"]

    # when: an order takes 3 (11 left: still above the threshold) and then 2 more (9 left)
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(account=account, order_ref="order:1", lines=[ReservationLine(sku.pk, 3)])
    assert names(account, status="in_stock") == ["Lip Oil"]
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(account=account, order_ref="order:2", lines=[ReservationLine(sku.pk, 2)])

    # then: it is listed as low, with the live figures
    low = list(sku_list(account=account, status="low_stock"))
    assert [s.name for s in low] == ["Lip Oil"] and low[0].available_stock == 9
    assert sku_status_counts(account=account) == {"": 1, "in_stock": 0, "low_stock": 1, "out_of_stock": 0}

    # when: the order is cancelled and stock arrives
    warehouse = StockLevel.objects.get(sku=sku).warehouse
    with django_capture_on_commit_callbacks(execute=True):
        stock_release(order_ref="order:2")
        stock_receive(sku=sku, warehouse=warehouse, quantity=40, reference="po:PO-00001")

    # then: back in stock
    assert names(account, status="in_stock") == ["Lip Oil"]
    assert SKU.objects.get(pk=sku.pk).summary_available == 51


def test_sorting_by_days_of_cover_uses_the_summary_and_puts_non_sellers_last():
    # given: three SKUs selling 30, 300 and nothing a month
    account = AccountFactory()
    stocked_sku(account=account, on_hand=20, name="Slow", avg_monthly_sales=Decimal("30"))
    stocked_sku(account=account, on_hand=20, name="Fast", avg_monthly_sales=Decimal("300"))
    stocked_sku(account=account, on_hand=20, name="Never sells")

    # then: 2 days of cover, then 20 days, then the SKU with no sales
    assert names(account, ordering="days_of_cover") == ["Fast", "Slow", "Never sells"]
    assert [
        round(s.summary_days_of_cover or -1, 1) for s in sku_list(account=account, ordering="days_of_cover")
    ] == [
        2.0,
        20.0,
        -1,
    ]


def test_refresh_repairs_a_summary_that_drifted():
    # given: a summary written by hand to a wrong status
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=50, name="Serum")
    SKU.objects.filter(pk=sku.pk).update(summary_status="out_of_stock", summary_available=0)
    assert names(account, status="out_of_stock") == ["Serum"]

    # when: the sweep refreshes the account
    updated = stock_summary_refresh(account=account)

    # then
    assert updated == 1
    assert names(account, status="in_stock") == ["Serum"]


def test_refresh_needs_to_be_told_what_to_refresh():
    with pytest.raises(ValueError):
        stock_summary_refresh()
