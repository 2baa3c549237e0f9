"""GET /api/inventory/products and /api/inventory/products/{id} (CONTRACT.md section 3)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from inventory.models import InventoryTransaction, TransactionType
from inventory.tests.factories import StockLevelFactory, WarehouseFactory, stocked_sku

pytestmark = pytest.mark.django_db

LIST = "/api/inventory/products"
PRODUCT_FIELDS = {
    "id",
    "name",
    "sku",
    "current_stock",
    "reserved_stock",
    "available_stock",
    "last_inventory_sync",
    "inventory_sync_status",
}


@pytest.fixture
def owner():
    return MembershipFactory(role=Role.OWNER)


@pytest.fixture
def api(owner):
    return client_for(owner, api=True)


def _ledger(sku, *, quantity, type=TransactionType.IN, reason="", ago=timedelta(0)):
    level = sku.stock_levels.first()
    return InventoryTransaction.objects.create(
        account_id=sku.account_id,
        sku=sku,
        warehouse_id=level.warehouse_id,
        type=type,
        quantity=quantity,
        previous_level=100,
        new_level=100 + quantity,
        reason=reason,
        created_at=timezone.now() - ago,
    )


def test_list_has_the_contract_shape_and_totals_over_warehouses(owner, api):
    # given a SKU stocked in two warehouses, with some reserved
    sku = stocked_sku(account=owner.account, on_hand=30, name="Glow Lamp", seller_sku="LAMP-1")
    StockLevelFactory(sku=sku, warehouse=WarehouseFactory(account=owner.account), on_hand=5, reserved=3)
    stocked_sku(on_hand=7, name="Someone else's lamp")  # another account

    # when
    response = api.get(LIST)

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"products", "pagination"}
    assert body["pagination"] == {"page": 1, "limit": 50, "total": 1}
    [product] = body["products"]
    assert set(product) == PRODUCT_FIELDS
    assert product["id"] == str(sku.pk)
    assert (product["name"], product["sku"]) == ("Glow Lamp", "LAMP-1")
    assert (product["current_stock"], product["reserved_stock"], product["available_stock"]) == (35, 3, 32)
    assert product["last_inventory_sync"] is None
    assert product["inventory_sync_status"] == "never"


def test_status_filter_search_and_pagination(owner, api):
    # given one out, three low (default threshold 10) and two plenty
    account = owner.account
    stocked_sku(account=account, on_hand=0, name="Candle Out")
    for n in range(3):
        stocked_sku(account=account, on_hand=2 + n, name=f"Candle Low {n}", seller_sku=f"CNDL-{n}")
    stocked_sku(account=account, on_hand=80, name="Mug Big", seller_sku="MUG-1")
    stocked_sku(account=account, on_hand=90, name="Tote", seller_sku="TOTE-CANDLE")

    def names(query):
        response = api.get(LIST + query)
        assert response.status_code == 200, response.content
        return [p["name"] for p in response.json()["products"]], response.json()["pagination"]

    # then: status filters, search matches name or SKU case-insensitively, pages split the rest
    assert names("?status=out_of_stock")[0] == ["Candle Out"]
    assert names("?status=in_stock")[0] == ["Mug Big", "Tote"]
    assert names("?status=low_stock&search=candle")[0] == ["Candle Low 0", "Candle Low 1", "Candle Low 2"]
    assert names("?search=cndl-1")[0] == ["Candle Low 1"]
    assert names("?search=CANDLE")[0] == [
        "Candle Low 0",
        "Candle Low 1",
        "Candle Low 2",
        "Candle Out",
        "Tote",
    ]
    assert names("?status=low_stock&limit=2&page=2") == (
        ["Candle Low 2"],
        {"page": 2, "limit": 2, "total": 3},
    )
    assert names("?status=low_stock&limit=2&page=9") == ([], {"page": 9, "limit": 2, "total": 3})
    assert names("?search=nothing-like-it") == ([], {"page": 1, "limit": 50, "total": 0})


@pytest.mark.parametrize(
    "query, field",
    [
        ("?page=0", "page"),
        ("?page=x", "page"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=ten", "limit"),
        ("?status=sideways", "status"),
        ("?search=" + "x" * 101, "search"),
    ],
)
def test_bad_query_parameters_are_a_400_with_field_errors(api, query, field):
    response = api.get(LIST + query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]


def test_limit_up_to_200_is_accepted(owner, api):
    stocked_sku(account=owner.account)
    assert api.get(LIST + "?limit=200").json()["pagination"]["limit"] == 200


def test_list_query_count_does_not_grow_with_the_page(owner, api):
    # given 5 SKUs, then 50
    def queries_for_page():
        api.get(LIST)  # warm the token's last_used_at so both runs do the same work
        with CaptureQueriesContext(connection) as captured:
            response = api.get(LIST + "?limit=50")
        assert response.status_code == 200
        return len(captured), len(response.json()["products"])

    for _ in range(5):
        stocked_sku(account=owner.account)
    few = queries_for_page()
    for _ in range(45):
        stocked_sku(account=owner.account)
    many = queries_for_page()

    # then: the same number of queries for 5 rows as for 50
    assert few[1] == 5 and many[1] == 50
    assert few[0] == many[0]


def test_session_and_token_auth_both_work_and_anonymous_is_401(owner):
    stocked_sku(account=owner.account)
    assert client_for(owner).get(LIST).status_code == 200
    assert client_for(owner, api=True).get(LIST).status_code == 200
    from django.test import Client

    anonymous = Client().get(LIST)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    bad_token = Client(headers={"Authorization": "Token nope"}).get(LIST)
    assert bad_token.status_code == 401


def test_detail_has_history_newest_first(owner, api):
    # given a SKU with three ledger movements
    sku = stocked_sku(account=owner.account, on_hand=100, name="Serum")
    _ledger(sku, quantity=20, reason="po received", ago=timedelta(days=2))
    _ledger(sku, quantity=-1, type=TransactionType.OUT, reason="order", ago=timedelta(days=1))
    _ledger(sku, quantity=-3, type=TransactionType.ADJUSTMENT, reason="damaged")

    # when
    response = api.get(f"{LIST}/{sku.pk}")

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PRODUCT_FIELDS | {"history"}
    assert body["current_stock"] == 100
    assert [(h["type"], h["quantity"], h["reason"]) for h in body["history"]] == [
        ("ADJUSTMENT", -3, "damaged"),
        ("OUT", -1, "order"),
        ("IN", 20, "po received"),
    ]
    assert set(body["history"][0]) == {"date", "type", "quantity", "reason"}


def test_detail_of_another_account_unknown_or_malformed_id_is_a_json_404(owner, api):
    sku = stocked_sku(account=owner.account)
    assert_other_account_gets_404(f"{LIST}/{sku.pk}", owner=owner, api=True)
    for missing in (uuid.uuid4(), "not-a-uuid", "123"):
        response = api.get(f"{LIST}/{missing}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_viewer_may_read(owner):
    viewer = MembershipFactory(account=owner.account, role=Role.VIEWER)
    sku = stocked_sku(account=owner.account)
    client = client_for(viewer, api=True)
    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}/{sku.pk}").status_code == 200
