"""The demo loader's inventory: a believable shop, consistent ledger, idempotent."""

import pytest
from django.core.management import call_command

from accounts.models import Account
from inventory.models import (
    SKU,
    Adjustment,
    InventoryTransaction,
    Reservation,
    StockAlert,
    StockLevel,
    Supplier,
    Warehouse,
)
from inventory.selectors import sku_list
from inventory.services.stock import ledger_reconcile

pytestmark = pytest.mark.django_db

MODELS = (Warehouse, Supplier, SKU, StockLevel, InventoryTransaction, Reservation, Adjustment, StockAlert)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_the_demo_shop_has_stock_history_and_alerts_and_loading_twice_changes_nothing():
    # when the demo is loaded
    call_command("load_demo", stdout=open("/dev/null", "w"))
    first = counts()
    account = Account.objects.get(name__contains="demo")

    # then: two warehouses (LA default), two suppliers, ~50 SKUs with a month of orders
    assert list(Warehouse.objects.filter(account=account).values_list("code", "is_default")) == [
        ("LA1", True),
        ("NJ1", False),
    ]
    assert first["Supplier"] == 2 and 45 <= first["SKU"] <= 55
    assert Reservation.objects.filter(status="consumed").count() > 1000
    assert Reservation.objects.filter(status="active").exists()
    # every shipped line has its OUT row, and the counters agree with the ledger
    assert (
        InventoryTransaction.objects.filter(type="OUT").count()
        == Reservation.objects.filter(status="consumed").count()
    )
    assert ledger_reconcile(account=account) == []
    # some SKUs are low, some out, most fine; sales rates are set so days of cover mean something
    statuses = [sku.stock_status for sku in sku_list(account=account)]
    assert statuses.count("out_of_stock") >= 2 and statuses.count("low_stock") >= 2
    assert statuses.count("in_stock") > len(statuses) / 2
    assert SKU.objects.filter(account=account, avg_monthly_sales__gt=0).count() >= 45
    assert StockAlert.objects.filter(account=account, status="open").count() >= 2
    assert Adjustment.objects.filter(account=account, status="pending", quantity=150).count() == 1

    # when it runs again, then nothing changes
    call_command("load_demo", stdout=open("/dev/null", "w"))
    assert counts() == first
