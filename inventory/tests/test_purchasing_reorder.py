"""From demand to purchase orders: one-click orders from reorder suggestions, and auto-reorder.

Demand is real reservation rows (what the velocity module reads); suggestions are computed by the
real `reorder_suggestion`. 100 units over the last 10 days is 10 a day; with the supplier's 7-day
lead time and 7 safety days that is 140 units of need, minus what is available and on order.
"""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from inventory.models import PurchaseOrder, Reservation, Warehouse
from inventory.services import purchasing
from inventory.tasks_purchasing import auto_reorder_account
from inventory.tests.factories import SupplierFactory, WarehouseFactory, stocked_sku
from notifications.models import Notification

pytestmark = pytest.mark.django_db

Status = PurchaseOrder.Status


def sold(sku, units: int, *, days_ago: int = 10):
    """`units` of demand for `sku`, first seen `days_ago` days ago (a released reservation)."""
    warehouse = Warehouse.objects.filter(account_id=sku.account_id).order_by("-is_default").first()
    Reservation.objects.create(
        account_id=sku.account_id,
        sku=sku,
        warehouse=warehouse,
        order_ref=f"order:{uuid.uuid4()}",
        quantity=units,
        status=Reservation.Status.RELEASED,
        created_at=timezone.now() - timedelta(days=days_ago),
    )


@pytest.fixture
def owner():
    return MembershipFactory()


@pytest.fixture
def account(owner):
    return owner.account


@pytest.fixture
def warehouse(account):
    return WarehouseFactory(account=account, is_default=True)


def selling_sku(account, warehouse, *, supplier=None, on_hand=20, **fields):
    sku = stocked_sku(account=account, warehouse=warehouse, on_hand=on_hand, supplier=supplier, **fields)
    sold(sku, 100)
    return sku


def test_one_click_groups_suggestions_by_supplier_and_reports_the_rest(account, warehouse, owner):
    # given two SKUs from one supplier, one from another, one without a supplier,
    # and one that does not sell
    glow, pack = SupplierFactory(account=account, name="Glow"), SupplierFactory(account=account, name="Pack")
    cream = selling_sku(account, warehouse, supplier=glow, seller_sku="GL-CC")
    oil = selling_sku(account, warehouse, supplier=glow, seller_sku="GL-LO", on_hand=50)
    box = selling_sku(account, warehouse, supplier=pack, seller_sku="PK-BX")
    orphan = selling_sku(account, warehouse, seller_sku="GL-XX")
    idle = stocked_sku(account=account, warehouse=warehouse, supplier=glow, seller_sku="GL-ID")
    foreign = stocked_sku(supplier=None)

    # when the owner orders all of them in one click
    orders = purchasing.po_create_from_suggestions(
        account=account,
        sku_ids=[cream.pk, oil.pk, box.pk, orphan.pk, idle.pk, str(foreign.pk)],
        actor=owner.user,
    )

    # then one draft per supplier, to the default warehouse, at each SKU's cost
    by_supplier = {po.supplier.name: po for po in orders}
    assert set(by_supplier) == {"Glow", "Pack"}
    assert all(po.status == Status.DRAFT and po.warehouse == warehouse for po in orders)
    glow_lines = {line.sku.seller_sku: line.quantity_ordered for line in by_supplier["Glow"].lines.all()}
    assert glow_lines == {"GL-CC": 120, "GL-LO": 90}
    box_line = by_supplier["Pack"].lines.get()
    assert (box_line.quantity_ordered, box_line.unit_cost) == (120, box.cost)
    # and nothing is dropped silently: each skipped SKU comes back with its reason
    assert {(s.seller_sku, s.reason) for s in orders.skipped} == {
        ("GL-XX", "no_supplier"),
        ("GL-ID", "nothing_needed"),
        ("", "not_found"),
    }


def test_one_click_twice_does_not_draft_the_same_units_again(account, warehouse, owner):
    # given a selling SKU already on a draft from the first click
    sku = selling_sku(account, warehouse, supplier=SupplierFactory(account=account))
    purchasing.po_create_from_suggestions(account=account, sku_ids=[sku.pk], actor=owner.user)

    # when the button is clicked again
    again = purchasing.po_create_from_suggestions(account=account, sku_ids=[sku.pk], actor=owner.user)

    # then no second draft, and the SKU is reported as already on a draft
    assert list(again) == []
    assert [s.reason for s in again.skipped] == ["on_draft"]
    assert PurchaseOrder.objects.filter(account=account).count() == 1


def test_reorder_candidates_lists_selling_skus_that_need_stock(account, warehouse):
    # given a selling SKU short of stock, one with plenty and one that does not sell
    supplier = SupplierFactory(account=account)
    short = selling_sku(account, warehouse, supplier=supplier, seller_sku="A-SHORT")
    selling_sku(account, warehouse, supplier=supplier, seller_sku="B-PLENTY", on_hand=500)
    stocked_sku(account=account, warehouse=warehouse, seller_sku="C-IDLE", on_hand=0)

    # when the suggestions are listed
    candidates = purchasing.reorder_candidates(account=account)

    # then only the short one, with its suggestion
    assert [(sku.pk, suggestion.quantity) for sku, suggestion in candidates] == [(short.pk, 120)]
    assert candidates[0][1].on_order == 0 and candidates[0][1].available == 20


def test_auto_reorder_creates_and_sends_once_while_the_order_is_open(
    account, warehouse, celery_eager, django_capture_on_commit_callbacks
):
    # given an auto-reorder SKU that needs 120 units, and one whose creator left auto-reorder off
    supplier = SupplierFactory(account=account, email="orders@glow.example.com")
    sku = selling_sku(account, warehouse, supplier=supplier, auto_reorder=True)
    selling_sku(account, warehouse, supplier=supplier, auto_reorder=False)

    # when auto-reorder runs
    with django_capture_on_commit_callbacks(execute=True):
        orders = purchasing.auto_reorder(account=account)

    # then one order for the auto-reorder SKU is created, sent and emailed
    assert len(orders) == 1
    po = PurchaseOrder.objects.get()
    assert po.status == Status.SENT and po.created_by is None
    assert [(line.sku_id, line.quantity_ordered) for line in po.lines.all()] == [(sku.pk, 120)]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["orders@glow.example.com"]

    # when it runs again while that order is open, even after demand grew
    sold(sku, 50, days_ago=1)
    with django_capture_on_commit_callbacks(execute=True):
        again = purchasing.auto_reorder(account=account)

    # then nothing more is ordered or emailed
    assert again == []
    assert PurchaseOrder.objects.count() == 1 and len(mail.outbox) == 1

    # when the order is received in full, and the SKU sells on
    purchasing.po_receive(po=po, quantities={po.lines.get().pk: 120}, actor="warehouse")
    sold(sku, 2000, days_ago=2)
    with django_capture_on_commit_callbacks(execute=True):
        later = purchasing.auto_reorder(account=account)

    # then it may order again
    assert len(later) == 1 and later[0].number == "PO-00002"


def test_auto_reorder_drafts_and_notifies_when_the_supplier_has_no_email(
    account, warehouse, django_capture_on_commit_callbacks
):
    # given an auto-reorder SKU whose supplier has no email address
    sku = selling_sku(
        account, warehouse, supplier=SupplierFactory(account=account, email=""), auto_reorder=True
    )

    # when auto-reorder runs
    with django_capture_on_commit_callbacks(execute=True):
        orders = purchasing.auto_reorder(account=account)

    # then the order waits as a draft, the creator is told, and a second run does not double it
    assert [po.status for po in orders] == [Status.DRAFT]
    assert orders[0].lines.get().sku_id == sku.pk
    note = Notification.objects.get(account=account)
    assert "has no email" in note.title and str(orders[0].pk) in note.link
    assert purchasing.auto_reorder(account=account) == []


def test_the_auto_reorder_task_orders_for_one_account(
    account, warehouse, celery_eager, django_capture_on_commit_callbacks
):
    # given an auto-reorder SKU that needs stock
    selling_sku(account, warehouse, supplier=SupplierFactory(account=account), auto_reorder=True)

    # when the task runs for the account (as the viral-spike job would enqueue it), twice
    with django_capture_on_commit_callbacks(execute=True):
        auto_reorder_account.delay(str(account.pk))
        auto_reorder_account.delay(str(account.pk))

    # then one order was sent and emailed
    assert PurchaseOrder.objects.get().status == Status.SENT
    assert len(mail.outbox) == 1
