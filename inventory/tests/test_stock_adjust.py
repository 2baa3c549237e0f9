"""Manual adjustments (with approval above 100 units), receiving, and counts taken from the channel."""

import pytest

from accounts.tests.factories import AccountFactory, UserFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.core.errors import Conflict, DomainError
from inventory.models import Adjustment, InventoryTransaction, StockLevel, TransactionType
from inventory.services.stock import (
    InsufficientStock,
    ReservationLine,
    adjustment_approve,
    adjustment_reject,
    stock_adjust,
    stock_receive,
    stock_reserve,
    stock_set_from_channel,
)
from inventory.tests.factories import StockLevelFactory, WarehouseFactory, stocked_sku

pytestmark = pytest.mark.django_db


def on_hand(sku) -> int:
    return sum(StockLevel.objects.filter(sku=sku).values_list("on_hand", flat=True))


@pytest.mark.parametrize(
    ("quantity", "reason", "bad_fields"),
    [
        (0, "count", {"quantity"}),
        (10001, "count", {"quantity"}),
        (-10001, "count", {"quantity"}),
        ("5", "count", {"quantity"}),
        (2.0, "count", {"quantity"}),
        (True, "count", {"quantity"}),
        (5, "", {"reason"}),
        (5, "   ", {"reason"}),
        (5, "x" * 501, {"reason"}),
        (0, "", {"quantity", "reason"}),
    ],
)
def test_invalid_adjustments_are_refused_with_the_fields_named(quantity, reason, bad_fields):
    # given
    sku = stocked_sku(on_hand=50)

    # when
    with pytest.raises(DomainError) as caught:
        stock_adjust(sku=sku, quantity=quantity, reason=reason, actor=UserFactory())

    # then
    assert caught.value.code == "invalid" and caught.value.http_status == 400
    assert set(caught.value.fields) == bad_fields
    assert on_hand(sku) == 50 and not InventoryTransaction.objects.exists()


def test_the_limits_themselves_are_accepted():
    sku = stocked_sku(on_hand=0)
    user = UserFactory()
    assert stock_adjust(sku=sku, quantity=100, reason="x" * 500, actor=user).applied is True
    assert (
        stock_adjust(sku=sku, quantity=10000, reason=" recount ", actor=user).adjustment.reason == "recount"
    )


def test_a_small_adjustment_is_applied_with_a_ledger_row_and_an_audit_entry():
    # given 50 in the default warehouse and 7 in another
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=50)
    StockLevelFactory(sku=sku, warehouse=WarehouseFactory(account=account), on_hand=7)
    user = UserFactory()

    # when the creator counts 12 fewer
    result = stock_adjust(sku=sku, quantity=-12, reason="  Damaged in transit ", actor=user)

    # then it applies at once; the new level is over all warehouses
    assert (result.applied, result.new_stock_level, result.adjustment) == (True, 45, None)
    entry = InventoryTransaction.objects.get()
    assert (entry.type, entry.quantity, entry.previous_level, entry.new_level) == (
        TransactionType.ADJUSTMENT,
        -12,
        50,
        38,
    )
    assert (entry.reason, entry.actor) == ("Damaged in transit", user)
    audit = AuditLogEntry.objects.get(action="stock.adjusted")
    assert (audit.actor, audit.account_id, audit.target_object_id) == (user, account.pk, str(sku.pk))
    assert audit.changes["on_hand"] == [50, 38]


def test_stock_never_goes_below_zero_or_below_reserved():
    # given 10 on hand, 6 reserved
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=10)
    stock_reserve(account=account, order_ref="order:1", lines=[ReservationLine(sku.pk, 6)])

    # when taking away 5 (would leave 5 < 6 reserved), then 11 (below zero)
    for quantity in (-5, -11):
        with pytest.raises(InsufficientStock) as caught:
            stock_adjust(sku=sku, quantity=quantity, reason="count", actor=UserFactory())
        # then nothing changed and the error says 4 can go
        assert caught.value.code == "insufficient_stock"
        assert [(s.requested, s.available) for s in caught.value.short_lines] == [(-quantity, 4)]
    assert on_hand(sku) == 10 and not InventoryTransaction.objects.exists()
    assert not AuditLogEntry.objects.filter(action="stock.adjusted").exists()
    # and exactly 4 may go
    assert stock_adjust(sku=sku, quantity=-4, reason="count", actor=UserFactory()).new_stock_level == 6


def test_a_large_adjustment_waits_for_approval_and_approval_applies_it():
    # given
    sku = stocked_sku(on_hand=20)
    creator, staff = UserFactory(), UserFactory(is_staff=True)

    # when the creator adds 101
    result = stock_adjust(sku=sku, quantity=101, reason="Found a pallet", actor=creator)

    # then stock is unchanged and an adjustment is pending
    assert (result.applied, result.new_stock_level) == (False, 20)
    pending = result.adjustment
    assert (pending.status, pending.quantity, pending.requested_by) == ("pending", 101, creator)
    assert on_hand(sku) == 20 and not InventoryTransaction.objects.exists()
    assert AuditLogEntry.objects.filter(action="stock.adjustment_requested", actor=creator).exists()

    # when staff approve it
    approved = adjustment_approve(adjustment=pending, actor=staff)

    # then it is applied once, with its ledger row, and cannot be approved again
    assert (approved.status, approved.decided_by) == ("applied", staff)
    assert on_hand(sku) == 121
    entry = InventoryTransaction.objects.get()
    assert (entry.quantity, entry.reference, entry.actor) == (101, f"adjustment:{pending.pk}", staff)
    assert Adjustment.objects.get().transaction_id == entry.pk
    assert AuditLogEntry.objects.filter(action="stock.adjustment_approved", actor=staff).exists()
    with pytest.raises(Conflict):
        adjustment_approve(adjustment=pending, actor=staff)
    assert on_hand(sku) == 121


def test_approval_fails_cleanly_when_stock_no_longer_allows_it():
    # given a pending removal of 150 and, meanwhile, stock down to 120
    sku = stocked_sku(on_hand=200)
    pending = stock_adjust(sku=sku, quantity=-150, reason="Write-off", actor=UserFactory()).adjustment
    stock_adjust(sku=sku, quantity=-80, reason="Sold offline", actor=UserFactory())

    # when staff approve it
    failed = adjustment_approve(adjustment=pending, actor=UserFactory(is_staff=True))

    # then it is marked failed with the reason and stock is as it was
    assert failed.status == "failed" and "120 available" in failed.decision_note
    assert on_hand(sku) == 120
    assert Adjustment.objects.get().status == "failed"


def test_rejecting_leaves_stock_alone():
    sku = stocked_sku(on_hand=20)
    pending = stock_adjust(sku=sku, quantity=-500, reason="?", actor=UserFactory()).adjustment

    rejected = adjustment_reject(adjustment=pending, actor=UserFactory(is_staff=True), note=" typo ")

    assert (rejected.status, rejected.decision_note) == ("rejected", "typo")
    assert on_hand(sku) == 20
    with pytest.raises(Conflict):
        adjustment_approve(adjustment=pending, actor=UserFactory(is_staff=True))


def test_channel_count_wins_but_reserved_stock_is_kept():
    # given 30 on hand, 8 reserved
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=30)
    warehouse = StockLevel.objects.get(sku=sku).warehouse
    stock_reserve(account=account, order_ref="order:2", lines=[ReservationLine(sku.pk, 8)])

    # when the channel says 25, then 25 again, then 3
    first = stock_set_from_channel(sku=sku, warehouse=warehouse, quantity=25)
    same = stock_set_from_channel(sku=sku, warehouse=warehouse, quantity=25)
    below = stock_set_from_channel(sku=sku, warehouse=warehouse, quantity=3)

    # then 25 is taken, the repeat writes nothing, and 3 < 8 reserved keeps on_hand at 8
    assert (first.type, first.quantity, first.reason, first.actor_label) == (
        "ADJUSTMENT",
        -5,
        "channel_sync",
        "tiktok",
    )
    assert same is None
    assert (below.quantity, below.previous_level, below.new_level, below.reason) == (
        -17,
        25,
        8,
        "channel_sync",
    )
    level = StockLevel.objects.get(sku=sku)
    assert (level.on_hand, level.reserved) == (8, 8)


def test_channel_count_creates_a_missing_stock_level():
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=1)
    elsewhere = WarehouseFactory(account=account)

    entry = stock_set_from_channel(sku=sku, warehouse=elsewhere, quantity=12)

    assert (entry.previous_level, entry.new_level) == (0, 12)
    assert StockLevel.objects.get(sku=sku, warehouse=elsewhere).on_hand == 12


def test_receive_writes_an_in_row():
    # given a SKU never stocked in a second warehouse
    account = AccountFactory()
    sku = stocked_sku(account=account, on_hand=4)
    second = WarehouseFactory(account=account)

    # when a purchase order arrives there, then a return at the default warehouse
    received = stock_receive(sku=sku, warehouse=second, quantity=40, reference="po:PO-00001")
    returned = stock_receive(
        sku=sku,
        warehouse=StockLevel.objects.get(sku=sku, warehouse__is_default=True).warehouse,
        quantity=1,
        reference="return:1",
        reason="returned",
    )

    # then
    assert (received.type, received.quantity, received.previous_level, received.new_level) == (
        "IN",
        40,
        0,
        40,
    )
    assert (returned.previous_level, returned.new_level, returned.reason) == (4, 5, "returned")
    assert on_hand(sku) == 45
    with pytest.raises(DomainError):
        stock_receive(sku=sku, warehouse=second, quantity=0, reference="po:x")
