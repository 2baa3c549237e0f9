"""Reservations: all or nothing, idempotent per order line, released, consumed and expired exactly once."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from creatorflow.core.errors import DomainError, NotFound
from inventory.models import InventoryTransaction, Reservation, StockLevel, TransactionType
from inventory.services.stock import (
    InsufficientStock,
    ReservationLine,
    reservation_consume,
    reservations_expire,
    stock_release,
    stock_reserve,
)
from inventory.tests.factories import StockLevelFactory, WarehouseFactory, stocked_sku

pytestmark = pytest.mark.django_db


def level(sku):
    return StockLevel.objects.get(sku=sku)


def test_reserve_holds_stock_and_returns_one_reservation_per_line():
    # given two SKUs with stock in the default warehouse
    account = AccountFactory()
    lip, gloss = stocked_sku(account=account, on_hand=10), stocked_sku(account=account, on_hand=5)

    # when an order reserves 3 of one and 5 of the other
    reservations = stock_reserve(
        account=account,
        order_ref="order:1",
        lines=[ReservationLine(lip.pk, 3), ReservationLine(str(gloss.pk), 5)],
    )

    # then both are held, nothing left the shelf
    assert [(r.sku_id, r.quantity, r.status) for r in reservations] == [
        (lip.pk, 3, "active"),
        (gloss.pk, 5, "active"),
    ]
    assert (level(lip).on_hand, level(lip).reserved) == (10, 3)
    assert (level(gloss).on_hand, level(gloss).reserved) == (5, 5)
    assert not InventoryTransaction.objects.exists()


def test_one_short_line_reserves_nothing_and_the_error_names_every_short_line():
    # given three SKUs, two of which cannot cover the order
    account = AccountFactory()
    fine = stocked_sku(account=account, on_hand=10)
    short = stocked_sku(account=account, on_hand=2, seller_sku="SHORT-1")
    empty = stocked_sku(account=account, on_hand=0, seller_sku="EMPTY-1")

    # when the order asks for all three
    with pytest.raises(InsufficientStock) as caught:
        stock_reserve(
            account=account,
            order_ref="order:2",
            lines=[ReservationLine(fine.pk, 4), ReservationLine(short.pk, 3), ReservationLine(empty.pk, 1)],
        )

    # then nothing is reserved anywhere and the error lists exactly the short lines
    error = caught.value
    assert error.code == "insufficient_stock" and error.http_status == 409
    assert {(s.seller_sku, s.requested, s.available) for s in error.short_lines} == {
        ("SHORT-1", 3, 2),
        ("EMPTY-1", 1, 0),
    }
    assert set(error.fields) == {str(short.pk), str(empty.pk)}
    assert not Reservation.objects.exists()
    assert [level(s).reserved for s in (fine, short, empty)] == [0, 0, 0]


def test_lines_for_the_same_sku_are_summed_before_checking():
    # given 5 units
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=5)

    # when an order has two lines of 3 for it
    with pytest.raises(InsufficientStock) as caught:
        stock_reserve(
            account=account,
            order_ref="order:3",
            lines=[ReservationLine(sku.pk, 3), ReservationLine(sku.pk, 3)],
        )

    # then the 6 units together do not fit
    assert [(s.requested, s.available) for s in caught.value.short_lines] == [(6, 5)]
    # and two lines of 2 become one reservation of 4
    [reservation] = stock_reserve(
        account=account, order_ref="order:4", lines=[ReservationLine(sku.pk, 2), ReservationLine(sku.pk, 2)]
    )
    assert reservation.quantity == 4 and level(sku).reserved == 4


def test_reserving_the_same_order_line_again_counts_it_once():
    # given an order that reserved 2
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=10)
    [first] = stock_reserve(account=account, order_ref="order:5", lines=[ReservationLine(sku.pk, 2)])

    # when the same order is reserved again (a redelivered webhook)
    [again] = stock_reserve(account=account, order_ref="order:5", lines=[ReservationLine(sku.pk, 2)])

    # then it is the same reservation and stock is held once
    assert again.pk == first.pk
    assert level(sku).reserved == 2
    assert Reservation.objects.count() == 1


def test_a_foreign_or_unknown_sku_is_not_found_and_nothing_is_reserved():
    # given a SKU of another account
    account = AccountFactory()
    mine = stocked_sku(account=account, on_hand=10)
    theirs = stocked_sku(on_hand=10)

    # when / then
    for bad in (theirs.pk, "not-a-uuid"):
        with pytest.raises(NotFound):
            stock_reserve(
                account=account,
                order_ref="order:6",
                lines=[ReservationLine(mine.pk, 1), ReservationLine(bad, 1)],
            )
    assert not Reservation.objects.exists()


def test_a_sku_never_stocked_in_the_chosen_warehouse_has_nothing_available():
    # given stock only in the default warehouse and a second, empty warehouse
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=10)
    other = WarehouseFactory(account=account)

    # when the order asks for the other warehouse
    with pytest.raises(InsufficientStock) as caught:
        stock_reserve(account=account, order_ref="order:7", lines=[ReservationLine(sku.pk, 1, other.pk)])

    # then it is short there
    assert [(s.requested, s.available) for s in caught.value.short_lines] == [(1, 0)]


def test_an_explicit_warehouse_is_reserved_there():
    # given stock in two warehouses
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=1)
    second = StockLevelFactory(sku=sku, warehouse=WarehouseFactory(account=account), on_hand=4)

    # when
    stock_reserve(
        account=account, order_ref="order:8", lines=[ReservationLine(sku.pk, 3, second.warehouse_id)]
    )

    # then
    second.refresh_from_db()
    assert second.reserved == 3
    assert StockLevel.objects.get(sku=sku, warehouse__is_default=True).reserved == 0


def test_invalid_quantities_are_refused():
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=10)
    for quantity in (0, -1, 1.5, True):
        with pytest.raises(DomainError) as caught:
            stock_reserve(account=account, order_ref="order:9", lines=[ReservationLine(sku.pk, quantity)])
        assert caught.value.code == "invalid"
    assert level(sku).reserved == 0


def test_reserve_inside_a_callers_transaction_leaves_it_usable_after_a_refusal():
    # given
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=3)

    # when, in one transaction, the first order fits and the second does not
    with transaction.atomic():
        stock_reserve(account=account, order_ref="order:10", lines=[ReservationLine(sku.pk, 2)])
        with pytest.raises(InsufficientStock):
            stock_reserve(account=account, order_ref="order:11", lines=[ReservationLine(sku.pk, 2)])
        # then the transaction is still usable and holds the first reservation
        assert Reservation.objects.filter(order_ref="order:10").count() == 1

    assert level(sku).reserved == 2
    assert not Reservation.objects.filter(order_ref="order:11").exists()


def test_release_gives_stock_back_once():
    # given an order holding two SKUs
    account = AccountFactory()
    a, b = stocked_sku(account=account, on_hand=10), stocked_sku(account=account, on_hand=10)
    stock_reserve(
        account=account, order_ref="order:12", lines=[ReservationLine(a.pk, 2), ReservationLine(b.pk, 3)]
    )

    # when one SKU is released, then the rest, then everything again
    first = stock_release(order_ref="order:12", sku_ids=[a.pk])
    second = stock_release(order_ref="order:12", reason="cancelled")
    third = stock_release(order_ref="order:12")

    # then each unit came back exactly once
    assert (first, second, third) == (2, 3, 0)
    assert (level(a).reserved, level(b).reserved) == (0, 0)
    assert set(Reservation.objects.values_list("status", "close_reason")) == {("released", "cancelled")}


def test_consume_writes_one_out_per_line_with_levels_and_is_idempotent():
    # given 10 on hand, 4 reserved by another order, 3 by ours
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=10)
    stock_reserve(account=account, order_ref="order:other", lines=[ReservationLine(sku.pk, 4)])
    stock_reserve(account=account, order_ref="order:13", lines=[ReservationLine(sku.pk, 3)])

    # when our order ships, twice (a redelivered task)
    entries = reservation_consume(order_ref="order:13", actor="celery")
    again = reservation_consume(order_ref="order:13", actor="celery")

    # then one OUT of 3 from 10 to 7, and the other order's hold is untouched
    assert again == []
    [entry] = entries
    stored = InventoryTransaction.objects.get()
    assert stored.pk == entry.pk
    assert (stored.type, stored.quantity, stored.previous_level, stored.new_level) == (
        TransactionType.OUT,
        -3,
        10,
        7,
    )
    assert (stored.reference, stored.actor_label) == ("order:13", "celery")
    assert (level(sku).on_hand, level(sku).reserved) == (7, 4)
    assert Reservation.objects.get(order_ref="order:13").status == "consumed"
    # and releasing a shipped order gives nothing back
    assert stock_release(order_ref="order:13") == 0


def test_expiry_releases_exactly_the_expired_reservations():
    # given reservations expiring in the past, in the future, never, and one already consumed
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=20)
    now = timezone.now()
    for ref, expires in [("past:1", -5), ("past:2", -1), ("future", 5), ("never", None), ("shipped", -10)]:
        stock_reserve(
            account=account,
            order_ref=ref,
            lines=[ReservationLine(sku.pk, 2)],
            expires_at=None if expires is None else now + timedelta(minutes=expires),
        )
    reservation_consume(order_ref="shipped")

    # when the beat job runs, twice
    released = reservations_expire(now=now)
    again = reservations_expire(now=now)

    # then only the two expired active ones were released
    assert (released, again) == (2, 0)
    statuses = dict(Reservation.objects.values_list("order_ref", "status"))
    assert statuses == {
        "past:1": "released",
        "past:2": "released",
        "future": "active",
        "never": "active",
        "shipped": "consumed",
    }
    assert set(Reservation.objects.filter(status="released").values_list("close_reason", flat=True)) == {
        "expired"
    }
    assert (level(sku).on_hand, level(sku).reserved) == (18, 4)


def test_a_reservation_after_a_release_of_the_same_order_holds_again():
    # given an order reserved then cancelled
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=5)
    stock_reserve(account=account, order_ref="order:14", lines=[ReservationLine(sku.pk, 2)])
    stock_release(order_ref="order:14")

    # when it is reserved again (re-opened)
    stock_reserve(account=account, order_ref="order:14", lines=[ReservationLine(sku.pk, 2)])

    # then it holds again: only active reservations are unique per line
    assert level(sku).reserved == 2
    assert sorted(Reservation.objects.values_list("status", flat=True)) == ["active", "released"]
