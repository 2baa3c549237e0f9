"""Stock is never oversold: real threads, each with its own PostgreSQL connection, race for stock.

These run against PostgreSQL only (SQLite serialises every writer, so it would prove nothing). A
deadlock would surface as an OperationalError in a thread and fail the test.
"""

import threading

import pytest
from django.db import connection

from accounts.tests.factories import AccountFactory
from inventory.models import Reservation, StockAlert, StockLevel
from inventory.services.stock import InsufficientStock, ReservationLine, stock_reserve
from inventory.tests.factories import stocked_sku
from notifications.models import Notification

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(jobs, *, threads: int):
    """Run `jobs` (callables) from `threads` threads that start together. Returns the outcomes.

    Each outcome is "ok", "short" or the unexpected exception. Threads close their connection.
    """
    outcomes = [None] * len(jobs)
    start = threading.Barrier(threads)

    def worker(offset):
        try:
            start.wait()
            for index in range(offset, len(jobs), threads):
                try:
                    jobs[index]()
                    outcomes[index] = "ok"
                except InsufficientStock:
                    outcomes[index] = "short"
                except Exception as exc:  # recorded, then asserted on below
                    outcomes[index] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in pool), "a thread hung: deadlock or lock wait"
    return outcomes


def reserve_job(account, order_ref, lines):
    def job():
        stock_reserve(account=account, order_ref=order_ref, lines=lines)

    return job


def test_a_thousand_attempts_on_a_hundred_units_reserve_exactly_a_hundred():
    # given one SKU with 100 on hand
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=100)
    lines = [ReservationLine(sku.pk, 1)]
    jobs = [reserve_job(account, f"order:{n}", lines) for n in range(1000)]

    # when 50 threads make 1,000 attempts of one unit each
    outcomes = race(jobs, threads=50)

    # then exactly 100 succeed, the rest are refused as insufficient, nothing else went wrong
    unexpected = [o for o in outcomes if o not in ("ok", "short")]
    assert unexpected == []
    assert outcomes.count("ok") == 100 and outcomes.count("short") == 900
    level = StockLevel.objects.get(sku=sku)
    assert (level.on_hand, level.reserved) == (100, 100)
    assert Reservation.objects.filter(sku=sku, status="active").count() == 100
    assert level.version == 100  # one bump per successful reservation, none for refusals
    # and the after-commit alert checks, racing too, opened one out-of-stock alert and told people once
    assert StockAlert.objects.filter(sku=sku, kind="out_of_stock", status="open").count() == 1
    assert Notification.objects.filter(kind="inventory.out_of_stock").count() == 1
    # whether a check ever saw the stock between "low" and "out" depends on thread timing (under load
    # every check may run after the last unit went); what must hold is that nobody is told twice
    assert Notification.objects.filter(kind="inventory.low_stock").count() <= 1


def test_multi_line_orders_in_opposite_orders_neither_deadlock_nor_split():
    # given two SKUs, the second scarcer
    account = AccountFactory()
    a = stocked_sku(account=account, on_hand=100)
    b = stocked_sku(account=account, on_hand=70)
    forward = [ReservationLine(a.pk, 1), ReservationLine(b.pk, 1)]
    backward = [ReservationLine(b.pk, 1), ReservationLine(a.pk, 1)]
    jobs = [reserve_job(account, f"order:{n}", forward if n % 2 else backward) for n in range(300)]

    # when 30 threads reserve both SKUs, half of them listing the lines the other way round
    outcomes = race(jobs, threads=30)

    # then no deadlock or other error, 70 orders got both units and no order got only one
    assert [o for o in outcomes if o not in ("ok", "short")] == []
    assert outcomes.count("ok") == 70
    assert StockLevel.objects.get(sku=a).reserved == 70
    assert StockLevel.objects.get(sku=b).reserved == 70
    per_order = {}
    for order_ref in Reservation.objects.values_list("order_ref", flat=True):
        per_order[order_ref] = per_order.get(order_ref, 0) + 1
    assert len(per_order) == 70 and set(per_order.values()) == {2}


def test_the_same_order_reserved_by_many_threads_at_once_is_held_once():
    # given
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=10)
    lines = [ReservationLine(sku.pk, 3)]

    # when 20 threads deliver the same order at the same moment
    outcomes = race([reserve_job(account, "order:dup", lines) for _ in range(20)], threads=20)

    # then every call succeeds and the order holds its 3 units once
    assert outcomes == ["ok"] * 20
    assert StockLevel.objects.get(sku=sku).reserved == 3
    assert Reservation.objects.count() == 1
