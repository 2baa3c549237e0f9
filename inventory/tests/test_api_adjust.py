"""POST /api/inventory/products/{id}/adjust (CONTRACT.md section 3), including real concurrency."""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db.models import Sum
from django.test.testcases import LiveServerThread, _StaticFilesHandler

from accounts.models import Role
from accounts.services import api_token_create
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from inventory.models import Adjustment, InventoryTransaction, StockLevel, TransactionType
from inventory.tests.factories import stocked_sku


def _url(sku) -> str:
    return f"/api/inventory/products/{sku.pk}/adjust"


def _post(client, sku, body):
    return client.post(_url(sku), data=json.dumps(body), content_type="application/json")


def _on_hand(sku) -> int:
    return StockLevel.objects.filter(sku=sku).aggregate(total=Sum("on_hand"))["total"]


@pytest.fixture
def owner(db):
    return MembershipFactory(role=Role.OWNER)


@pytest.fixture
def api(owner):
    return client_for(owner, api=True)


def test_small_adjustment_applies_at_once_with_a_ledger_row(owner, api):
    # given
    sku = stocked_sku(account=owner.account, on_hand=40)

    # when
    response = _post(api, sku, {"quantity": -5, "reason": "two broken in transit"})

    # then
    assert response.status_code == 200
    assert response.json() == {"success": True, "new_stock_level": 35}
    assert _on_hand(sku) == 35
    entry = InventoryTransaction.objects.get(sku=sku)
    assert (entry.type, entry.quantity, entry.previous_level, entry.new_level) == (
        TransactionType.ADJUSTMENT,
        -5,
        40,
        35,
    )
    assert entry.reason == "two broken in transit" and entry.actor == owner.user


def test_more_than_100_units_waits_for_approval(owner, api):
    # given
    sku = stocked_sku(account=owner.account, on_hand=40)

    # when
    response = _post(api, sku, {"quantity": 101, "reason": "found a pallet"})

    # then: 202, an adjustment pending, stock unchanged
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"success", "pending_approval", "adjustment_id"}
    assert body["success"] is True and body["pending_approval"] is True
    adjustment = Adjustment.objects.get(pk=body["adjustment_id"])
    assert adjustment.status == Adjustment.Status.PENDING and adjustment.quantity == 101
    assert _on_hand(sku) == 40
    assert not InventoryTransaction.objects.filter(sku=sku).exists()


def test_below_zero_or_below_reserved_is_a_409(owner, api):
    # given 10 on hand, 8 of them reserved
    sku = stocked_sku(account=owner.account, on_hand=10)
    StockLevel.objects.filter(sku=sku).update(reserved=8)

    # when / then: taking 3 leaves 7 < 8 reserved; taking 11 goes below zero
    for quantity in (-3, -11):
        response = _post(api, sku, {"quantity": quantity, "reason": "count"})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "insufficient_stock"
    assert _on_hand(sku) == 10
    assert _post(api, sku, {"quantity": -2, "reason": "count"}).json()["new_stock_level"] == 8


@pytest.mark.parametrize(
    "body, field",
    [
        ({"quantity": 0, "reason": "x"}, "quantity"),
        ({"quantity": 10001, "reason": "x"}, "quantity"),
        ({"quantity": -10001, "reason": "x"}, "quantity"),
        ({"quantity": "ten", "reason": "x"}, "quantity"),
        ({"quantity": 1.5, "reason": "x"}, "quantity"),
        ({"reason": "x"}, "quantity"),
        ({"quantity": 1, "reason": ""}, "reason"),
        ({"quantity": 1, "reason": "   "}, "reason"),
        ({"quantity": 1, "reason": "r" * 501}, "reason"),
        ({"quantity": 1}, "reason"),
    ],
)
def test_invalid_body_is_a_400_with_field_errors(owner, api, body, field):
    sku = stocked_sku(account=owner.account, on_hand=10)
    response = _post(api, sku, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]
    assert _on_hand(sku) == 10


def test_limits_themselves_are_accepted(owner, api):
    sku = stocked_sku(account=owner.account, on_hand=10)
    assert _post(api, sku, {"quantity": 100, "reason": "r" * 500}).status_code == 200
    assert _post(api, sku, {"quantity": -10000, "reason": "x"}).status_code == 202


def test_viewer_may_not_adjust(owner):
    viewer = MembershipFactory(account=owner.account, role=Role.VIEWER)
    sku = stocked_sku(account=owner.account, on_hand=10)
    response = _post(client_for(viewer, api=True), sku, {"quantity": 1, "reason": "x"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert _on_hand(sku) == 10


def test_session_auth_adjusts_too(owner):
    sku = stocked_sku(account=owner.account, on_hand=10)
    response = _post(client_for(owner), sku, {"quantity": 1, "reason": "x"})
    assert response.status_code == 200 and response.json()["new_stock_level"] == 11


def test_another_accounts_sku_is_a_404(owner):
    sku = stocked_sku(account=owner.account, on_hand=10)
    assert_other_account_gets_404(
        _url(sku), owner=owner, method="post", data={"quantity": 1, "reason": "x"}, api=True
    )
    assert _on_hand(sku) == 11  # only the owner's request changed it


class _RoomyServer(ThreadedWSGIServer):
    # socketserver's default listen backlog is 5: forty simultaneous connects overflow it and the
    # kernel resets some, which would test the backlog rather than our locking.
    request_queue_size = 128


class _RoomyLiveServerThread(LiveServerThread):
    server_class = _RoomyServer


@pytest.fixture
def roomy_live_server():
    """pytest-django's live_server, but with a listen backlog that takes a burst of connections."""
    thread = _RoomyLiveServerThread("127.0.0.1", _StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_negative_adjustments_never_oversell(roomy_live_server):
    # given a SKU with little stock and one API token
    owner = MembershipFactory(role=Role.OWNER)
    sku = stocked_sku(account=owner.account, on_hand=30)
    _token, key = api_token_create(user=owner.user, account=owner.account, name="load")
    url = f"{roomy_live_server}{_url(sku)}"
    rng = random.Random(7)
    wanted = [-rng.randint(1, 5) for _ in range(40)]  # about 120 units asked for, 30 there
    results: list[tuple[int, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(wanted))

    def adjust(quantity: int) -> None:
        request = urllib.request.Request(
            url,
            data=json.dumps({"quantity": quantity, "reason": "race"}).encode(),
            headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
            method="POST",
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        with lock:
            results.append((status, quantity))

    # when 40 threads adjust at once through HTTP
    threads = [threading.Thread(target=adjust, args=(q,)) for q in wanted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then: only 200 or 409, never below zero, and the ledger accounts for every applied unit
    assert len(results) == len(wanted)
    statuses = {status for status, _ in results}
    assert statuses <= {200, 409}, statuses
    applied = sum(quantity for status, quantity in results if status == 200)
    final = _on_hand(sku)
    assert final >= 0
    assert final == 30 + applied
    assert 409 in statuses  # the test really ran out of stock
    ledger = InventoryTransaction.objects.filter(sku=sku)
    assert ledger.count() == sum(1 for status, _ in results if status == 200)
    assert ledger.aggregate(total=Sum("quantity"))["total"] == applied
