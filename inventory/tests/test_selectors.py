"""sku_list(): totals over warehouses and the stock status, computed in SQL."""

from decimal import Decimal

import pytest

from accounts.tests.factories import AccountFactory
from inventory.selectors import sku_list
from inventory.tests.factories import StockLevelFactory, WarehouseFactory, stocked_sku

pytestmark = pytest.mark.django_db


def test_totals_span_warehouses_and_status_follows_the_threshold():
    # given: one SKU in two warehouses, one low by the default threshold (10), one out, one fine
    account = AccountFactory()
    spread = stocked_sku(account=account, on_hand=30, name="Spread")
    StockLevelFactory(sku=spread, warehouse=WarehouseFactory(account=account), on_hand=5, reserved=3)
    stocked_sku(account=account, on_hand=10, name="Low")
    stocked_sku(account=account, on_hand=0, name="Out")
    stocked_sku(account=account, on_hand=50, name="Busy", avg_monthly_sales=Decimal("600"))
    stocked_sku(on_hand=1, name="Someone else's")

    # when
    rows = {s.name: s for s in sku_list(account=account)}

    # then
    assert set(rows) == {"Spread", "Low", "Out", "Busy"}
    assert (rows["Spread"].current_stock, rows["Spread"].reserved_stock, rows["Spread"].available_stock) == (
        35,
        3,
        32,
    )
    assert rows["Low"].stock_status == "low_stock" and rows["Out"].stock_status == "out_of_stock"
    # 10% of 600 a month is 60 > 50 available: low, and 50 / (600/30) = 2.5 days of cover
    assert rows["Busy"].threshold == 60 and rows["Busy"].stock_status == "low_stock"
    assert rows["Busy"].days_of_cover == pytest.approx(2.5)
    assert [s.name for s in sku_list(account=account, status="low_stock")] == ["Busy", "Low"]
    assert [s.name for s in sku_list(account=account, search="SPRE")] == ["Spread"]


def test_override_threshold_wins_and_unknown_status_is_refused():
    account = AccountFactory()
    stocked_sku(account=account, on_hand=40, name="Override", low_stock_threshold=50)
    assert [s.stock_status for s in sku_list(account=account)] == ["low_stock"]
    with pytest.raises(ValueError):
        list(sku_list(account=account, status="sideways"))
