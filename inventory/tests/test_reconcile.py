"""Ledger reconciliation: counters agree with the ledger and the reservations, or an alert opens once."""

import pytest
from django.db import connection

from accounts.tests.factories import AccountFactory
from inventory.models import StockAlert, StockLevel
from inventory.services.stock import (
    ReservationLine,
    ledger_reconcile,
    reservation_consume,
    stock_adjust,
    stock_receive,
    stock_reserve,
    stock_set_from_channel,
)
from inventory.tests.factories import WarehouseFactory, stocked_sku
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def sku_moved_only_through_services(account):
    """A SKU whose every movement went through the services (so its ledger is complete)."""
    sku = stocked_sku(account=account, on_hand=0)
    warehouse = StockLevel.objects.get(sku=sku).warehouse
    stock_receive(sku=sku, warehouse=warehouse, quantity=50, reference="po:1")
    stock_reserve(account=account, order_ref="order:1", lines=[ReservationLine(sku.pk, 5)])
    stock_reserve(account=account, order_ref="order:2", lines=[ReservationLine(sku.pk, 2)])
    reservation_consume(order_ref="order:1")
    stock_adjust(sku=sku, quantity=-3, reason="damaged", actor="system")
    stock_set_from_channel(sku=sku, warehouse=warehouse, quantity=40)
    return sku, warehouse


def test_a_clean_ledger_reports_nothing():
    # given stock moved in every way the services know
    account = AccountFactory()
    sku, _ = sku_moved_only_through_services(account)

    # when
    drifts = ledger_reconcile(account=account)

    # then
    assert drifts == []
    assert not StockAlert.objects.exists()
    assert (StockLevel.objects.get(sku=sku).on_hand, StockLevel.objects.get(sku=sku).reserved) == (40, 2)


def test_a_counter_changed_by_hand_is_found_and_alerted_once():
    # given a clean SKU whose on_hand someone then changed with raw SQL
    account = AccountFactory()
    sku, warehouse = sku_moved_only_through_services(account)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_stocklevel SET on_hand = on_hand + 7 WHERE sku_id = %s", [sku.pk.hex]
        )

    # when the nightly job runs twice
    drifts = ledger_reconcile(account=account)
    again = ledger_reconcile()

    # then the drift is reported both times, with the counter and what the ledger says
    assert [(d.sku_id, d.warehouse_id, d.counter, d.ledger, d.kind) for d in drifts] == [
        (str(sku.pk), str(warehouse.pk), 47, 40, "on_hand")
    ]
    assert again == drifts
    # and one alert is open, notified once
    alert = StockAlert.objects.get()
    assert (alert.kind, alert.status) == ("ledger_drift", "open") and alert.notified_at is not None
    assert Notification.objects.filter(kind="inventory.ledger_drift").count() == 1

    # when it is put right (by hand, as it went wrong) and checked again
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_stocklevel SET on_hand = on_hand - 7 WHERE sku_id = %s", [sku.pk.hex]
        )
    assert ledger_reconcile(account=account) == []

    # then the alert resolves
    assert StockAlert.objects.get().status == "resolved"


def test_a_reserved_counter_out_of_step_with_reservations_is_found():
    # given 2 reserved by an active reservation and a reserved counter bumped by hand
    account = AccountFactory()
    sku, warehouse = sku_moved_only_through_services(account)
    StockLevel.objects.filter(sku=sku).update(reserved=5)

    # when
    drifts = ledger_reconcile(account=account)

    # then
    assert [(d.counter, d.ledger, d.kind) for d in drifts] == [(5, 2, "reserved")]


def test_stock_with_no_ledger_at_all_is_drift_and_other_accounts_are_left_out():
    # given a stock level set up without any ledger row (as a raw import would), in another account too
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=12)
    stocked_sku(on_hand=3)
    empty = stocked_sku(account=account, on_hand=0, warehouse=WarehouseFactory(account=account))

    # when
    drifts = ledger_reconcile(account=account)

    # then only this account's unexplained 12 units show, not its empty level
    assert [(d.sku_id, d.counter, d.ledger) for d in drifts] == [(str(sku.pk), 12, 0)]
    assert not StockAlert.objects.filter(sku=empty).exists()
