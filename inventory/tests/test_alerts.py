"""Stock alerts open once, notify once (in the app and by email), and resolve when stock recovers."""

from decimal import Decimal

import pytest
from django.core import mail

from accounts.tests.factories import AccountFactory, MembershipFactory
from inventory.models import SKU, StockAlert, StockLevel
from inventory.services.alerts import alerts_evaluate, sku_sync_failed, sku_sync_succeeded, stock_threshold
from inventory.services.stock import ReservationLine, stock_receive, stock_release, stock_reserve
from inventory.tests.factories import stocked_sku
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory(name="Glow Labs")
    MembershipFactory(account=account, user__email="owner@example.com")
    return account


def alerts(sku):
    return sorted(StockAlert.objects.filter(sku=sku).values_list("kind", "status"))


def test_threshold_is_the_override_else_ten_percent_of_monthly_sales_but_at_least_ten():
    assert stock_threshold(sku=SKU(avg_monthly_sales=Decimal("0"))) == 10
    assert stock_threshold(sku=SKU(avg_monthly_sales=Decimal("99"))) == 10
    assert stock_threshold(sku=SKU(avg_monthly_sales=Decimal("101"))) == 11  # ceil(10.1)
    assert stock_threshold(sku=SKU(avg_monthly_sales=Decimal("600"), low_stock_threshold=3)) == 3


def test_low_then_out_then_recovered(account, celery_eager, django_capture_on_commit_callbacks):
    # given 15 units, threshold 10
    sku = stocked_sku(account=account, on_hand=15, name="Lip Oil")
    warehouse = StockLevel.objects.get(sku=sku).warehouse

    # when orders take 4 (11 left: fine), then 1 (10 left: low)
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(account=account, order_ref="order:1", lines=[ReservationLine(sku.pk, 4)])
    assert alerts(sku) == []
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(account=account, order_ref="order:2", lines=[ReservationLine(sku.pk, 1)])

    # then one low-stock alert, notified in the app and by email, with a reorder suggestion
    assert alerts(sku) == [("low_stock", "open")]
    assert StockAlert.objects.get().notified_at is not None
    note = Notification.objects.get()
    assert (note.kind, note.severity, note.title) == (
        "inventory.low_stock",
        "warning",
        "Lip Oil is running low",
    )
    assert "10 available, threshold 10" in note.body and "Suggested reorder" in note.body
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["owner@example.com"]

    # when more orders come while it stays low
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(account=account, order_ref="order:3", lines=[ReservationLine(sku.pk, 2)])
        stock_reserve(account=account, order_ref="order:4", lines=[ReservationLine(sku.pk, 3)])

    # then nobody is told again
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1

    # when the last 5 go
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(account=account, order_ref="order:5", lines=[ReservationLine(sku.pk, 5)])

    # then low resolves and out-of-stock opens, critical, told once
    assert alerts(sku) == [("low_stock", "resolved"), ("out_of_stock", "open")]
    assert Notification.objects.filter(kind="inventory.out_of_stock", severity="critical").count() == 1
    assert len(mail.outbox) == 2 and "Critical" in mail.outbox[1].subject

    # when an order is cancelled (5 back: low again) and then a delivery arrives (55: fine)
    with django_capture_on_commit_callbacks(execute=True):
        stock_release(order_ref="order:5")
    assert alerts(sku) == [("low_stock", "open"), ("low_stock", "resolved"), ("out_of_stock", "resolved")]
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(sku=sku, warehouse=warehouse, quantity=50, reference="po:1")

    # then everything is resolved
    assert {status for _, status in alerts(sku)} == {"resolved"}
    assert Notification.objects.count() == 3


def test_evaluating_twice_opens_one_alert(account):
    # given a SKU already out of stock
    sku = stocked_sku(account=account, on_hand=0)

    # when evaluated twice
    alerts_evaluate(sku_ids=[sku.pk])
    alerts_evaluate(sku_ids=[str(sku.pk)])

    # then
    assert alerts(sku) == [("out_of_stock", "open")]
    assert Notification.objects.count() == 1


def test_an_inactive_sku_has_no_stock_alerts(account):
    sku = stocked_sku(account=account, on_hand=0)
    alerts_evaluate(sku_ids=[sku.pk])
    SKU.objects.filter(pk=sku.pk).update(is_active=False)

    alerts_evaluate(sku_ids=[sku.pk])

    assert alerts(sku) == [("out_of_stock", "resolved")]


def test_three_failed_pushes_open_a_sync_alert_and_a_success_clears_it(
    account, celery_eager, django_capture_on_commit_callbacks
):
    # given
    sku = stocked_sku(account=account, on_hand=40, name="Glow Serum")

    # when two pushes fail
    with django_capture_on_commit_callbacks(execute=True):
        sku_sync_failed(sku=sku, error="HTTP 503")
        sku_sync_failed(sku=sku, error="HTTP 503")

    # then the status says so but nobody is bothered yet
    sku.refresh_from_db()
    assert (sku.sync_failures, sku.inventory_sync_status) == (2, "failed")
    assert alerts(sku) == [] and mail.outbox == []

    # when the third and a fourth fail
    with django_capture_on_commit_callbacks(execute=True):
        sku_sync_failed(sku=sku, error="timeout")
        sku_sync_failed(sku=sku, error="timeout")

    # then one sync alert, told once
    assert alerts(sku) == [("sync_failure", "open")]
    assert Notification.objects.filter(kind="inventory.sync_failure").count() == 1
    assert len(mail.outbox) == 1 and "timeout" in mail.outbox[0].body

    # when a push succeeds
    sku_sync_succeeded(sku=sku)

    # then the counter resets, the alert resolves and the sync time is recorded
    sku.refresh_from_db()
    assert (sku.sync_failures, sku.inventory_sync_status) == (0, "synced")
    assert sku.last_inventory_sync is not None
    assert alerts(sku) == [("sync_failure", "resolved")]
    # and a failure after that starts counting from zero again
    sku_sync_failed(sku=sku, error="HTTP 500")
    assert alerts(sku) == [("sync_failure", "resolved")]
