"""Real concurrency on PostgreSQL: simultaneous creations number without gaps or clashes, and a
receive form submitted from two tabs at once books its units once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from accounts.tests.factories import MembershipFactory
from creatorflow.core.errors import DomainError
from inventory.models import InventoryTransaction, PurchaseOrder, StockLevel
from inventory.services import purchasing
from inventory.tests.factories import SupplierFactory, WarehouseFactory, stocked_sku

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def run_at_once(work, count: int = THREADS) -> list:
    """Call work(i) in `count` threads released together; return results or the exceptions raised."""
    start = threading.Barrier(count)

    def call(i):
        start.wait()
        try:
            return work(i)
        except Exception as exc:  # collected: the test asserts on them
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def test_simultaneous_orders_get_consecutive_numbers():
    # given one account with a supplier, a warehouse and a SKU per thread
    owner = MembershipFactory()
    account = owner.account
    supplier = SupplierFactory(account=account)
    warehouse = WarehouseFactory(account=account, is_default=True)
    skus = [stocked_sku(account=account, warehouse=warehouse) for _ in range(THREADS)]

    # when every thread creates an order at the same moment
    results = run_at_once(
        lambda i: purchasing.po_create(
            account=account,
            supplier=supplier,
            warehouse=warehouse,
            lines=[(skus[i], 1, None)],
            actor=owner.user,
        )
    )

    # then all succeed, numbered PO-00001 … PO-00008 without a clash or a gap
    assert not [r for r in results if isinstance(r, Exception)], results
    numbers = sorted(PurchaseOrder.objects.filter(account=account).values_list("number", flat=True))
    assert numbers == [f"PO-{n:05d}" for n in range(1, THREADS + 1)]


def test_the_same_receipt_submitted_twice_at_once_is_booked_once():
    # given a sent order of 10 units, and a receive form showing 0 received
    owner = MembershipFactory()
    account = owner.account
    warehouse = WarehouseFactory(account=account, is_default=True)
    sku = stocked_sku(account=account, warehouse=warehouse, on_hand=5)
    po = purchasing.po_create(
        account=account,
        supplier=SupplierFactory(account=account),
        warehouse=warehouse,
        lines=[(sku, 10, None)],
        actor=owner.user,
    )
    po = purchasing.po_send(po=po, actor=owner.user)
    line = po.lines.get()

    # when the same form (6 units) arrives from several tabs at the same moment
    results = run_at_once(
        lambda i: purchasing.po_receive(
            po=po, quantities={line.pk: 6}, seen_received={line.pk: 0}, actor=owner.user
        ),
        count=4,
    )

    # then one receipt is booked and the others are refused as stale
    booked = [r for r in results if isinstance(r, PurchaseOrder)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(booked) == 1 and len(refused) == 3, results
    assert {r.code for r in refused} == {"purchase_order_changed"}
    assert StockLevel.objects.get(sku=sku, warehouse=warehouse).on_hand == 11
    assert InventoryTransaction.objects.filter(reference=f"po:{po.number}").count() == 1
