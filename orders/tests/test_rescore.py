"""Beat re-scoring: levels follow the deadline; pinned and closed orders are left alone."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.tests.factories import AccountFactory
from orders.models import OrderEvent, OrderStatus
from orders.priority import rescore_open_orders
from orders.schedules import PERIODIC_TASKS
from orders.tasks import rescore_open_task
from orders.tests.order_rows import order_row

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def test_level_rises_as_the_deadline_approaches():
    # given an AUTO order due in 30 h
    account = AccountFactory()
    order = order_row(account, ship_by=NOW + timedelta(hours=30))
    assert rescore_open_orders(account=account, now=NOW) == 1
    order.refresh_from_db()
    assert (order.priority_level, order.impact_score) == ("AUTO", 15)

    # when 20 hours pass (10 h left)
    changed = rescore_open_orders(account=account, now=NOW + timedelta(hours=20))

    # then it is MED, then HIGH under 4 h, with a timeline event per level change
    assert changed == 1
    order.refresh_from_db()
    assert (order.priority_level, order.impact_score, order.priority_reasons) == (
        "MED",
        50,
        ["Ships within 10 h"],
    )
    rescore_open_orders(account=account, now=NOW + timedelta(hours=27))
    order.refresh_from_db()
    assert (order.priority_level, order.processing_queue) == ("HIGH", "express")
    events = list(OrderEvent.objects.filter(order=order, type="priority").values_list("data", flat=True))
    assert [(e["from"], e["to"]) for e in events] == [("AUTO", "MED"), ("MED", "HIGH")]


def test_a_second_run_at_the_same_time_changes_nothing():
    account = AccountFactory()
    order_row(account, ship_by=NOW + timedelta(hours=3))
    assert rescore_open_orders(now=NOW) >= 1
    assert rescore_open_orders(account=account, now=NOW) == 0


def test_pinned_closed_and_far_off_orders_are_skipped():
    # given a pinned order, a shipped order and one due next week, all stale
    account = AccountFactory()
    pinned = order_row(account, ship_by=NOW + timedelta(hours=1), priority_pinned=True, priority_level="AUTO")
    shipped = order_row(account, ship_by=NOW + timedelta(hours=1), status=OrderStatus.SHIPPED)
    far = order_row(account, ship_by=NOW + timedelta(days=7), priority_level="MED")
    # when
    changed = rescore_open_orders(account=account, now=NOW)
    # then
    assert changed == 0
    for order in (pinned, shipped, far):
        before = order.priority_level
        order.refresh_from_db()
        assert order.priority_level == before


def test_rescore_is_scoped_to_the_account():
    mine, theirs = AccountFactory(), AccountFactory()
    order_row(mine, ship_by=NOW + timedelta(hours=2))
    other = order_row(theirs, ship_by=NOW + timedelta(hours=2))
    assert rescore_open_orders(account=mine, now=NOW) == 1
    other.refresh_from_db()
    assert other.priority_level == "AUTO"


def test_the_task_runs_the_rescore_and_beat_schedules_it():
    # given an order due within the hour
    account = AccountFactory()
    order = order_row(account, ship_by=datetime.now(UTC) + timedelta(minutes=30))
    # when the task runs with the account's id
    assert rescore_open_task.run(account_id=str(account.pk)) == 1
    # then
    order.refresh_from_db()
    assert order.priority_level == "HIGH"
    assert ("orders.rescore", "orders.rescore_open", timedelta(minutes=5)) in [
        (p.name, p.task, p.every) for p in PERIODIC_TASKS
    ]
