"""The stock beat jobs run their services through Celery, and staff decide adjustments in the admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import AccountFactory, UserFactory
from creatorflow.core.schedules import collect
from inventory.models import Adjustment, Reservation, StockAlert, StockLevel
from inventory.services.stock import ReservationLine, stock_adjust, stock_reserve
from inventory.tasks_stock import (
    evaluate_alerts_task,
    expire_reservations_task,
    reconcile_ledger_task,
    refresh_velocity_task,
)
from inventory.tests.factories import stocked_sku

pytestmark = pytest.mark.django_db


def test_the_stock_jobs_are_scheduled():
    schedules = {p.name: p for p in collect()}
    assert schedules["inventory.expire_reservations"].every == timedelta(minutes=1)
    for name in ("inventory.reconcile_ledger", "inventory.refresh_velocity", "inventory.evaluate_alerts"):
        assert schedules[name].task == name and schedules[name].crontab


def test_the_tasks_run_their_services(celery_eager):
    # given an expired reservation, a counter without a ledger and a SKU out of stock
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=5)
    empty = stocked_sku(account=account, on_hand=0)
    stock_reserve(
        account=account,
        order_ref="order:1",
        lines=[ReservationLine(sku.pk, 2)],
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    # when beat sends each job
    expired = expire_reservations_task.delay().get()
    drifts = reconcile_ledger_task.delay(account_id=str(account.pk)).get()
    swept = evaluate_alerts_task.delay().get()
    refreshed = refresh_velocity_task.delay(account_id=str(account.pk)).get()

    # then
    assert expired == 1 and Reservation.objects.get().status == "released"
    assert StockLevel.objects.get(sku=sku).reserved == 0
    assert drifts == 1  # 5 units nobody received through the services
    assert swept == 2
    assert StockAlert.objects.filter(sku=empty, kind="out_of_stock", status="open").exists()
    assert StockAlert.objects.filter(sku=sku, kind="low_stock", status="open").exists()
    assert refreshed == 1  # 2 units reserved in the last hour -> 1440 a month


def test_staff_approve_and_reject_pending_adjustments_in_the_admin(admin_client):
    # given two pending adjustments
    sku = stocked_sku(on_hand=10)
    first = stock_adjust(sku=sku, quantity=200, reason="Pallet", actor=UserFactory()).adjustment
    second = stock_adjust(sku=sku, quantity=-300, reason="Typo", actor=UserFactory()).adjustment

    # when staff approve the first and reject the second
    url = "/admin/inventory/adjustment/"
    admin_client.post(url, {"action": "approve_selected", "_selected_action": [first.pk]})
    admin_client.post(url, {"action": "reject_selected", "_selected_action": [second.pk]})

    # then
    assert dict(Adjustment.objects.values_list("reason", "status")) == {
        "Pallet": "applied",
        "Typo": "rejected",
    }
    assert StockLevel.objects.get(sku=sku).on_hand == 210
