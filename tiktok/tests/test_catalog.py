"""Catalogue sync against the sandbox through the real client: products and SKUs into inventory."""

from __future__ import annotations

import json
import time

import pytest
from django.db.models import Sum

from creatorflow.inbox.services import inbox_process, inbox_store
from inventory.models import SKU, InventoryTransaction, Product, StockLevel, Warehouse
from inventory.services.stock import ledger_reconcile
from inventory.tests.factories import ProductFactory, WarehouseFactory, stocked_sku
from tiktok.models import CatalogLink, PendingStockPush, SyncRun
from tiktok.services.catalog import CURSOR_OVERLAP, INITIAL_STOCK_REASON, catalog_sync, product_refresh
from tiktok.tests.connected import connect_sandbox_shop

pytestmark = pytest.mark.django_db

SEARCH = "/product/202309/products/search"
GET_PRODUCT = "/product/202309/products/{product_id}"


@pytest.fixture
def connected(tiktok_sandbox):
    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    default = WarehouseFactory(account=shop.account, is_default=True, code="LA1")
    return tiktok_sandbox, sb_shop, shop, default


def _calls(sandbox, template):
    return [c for c in sandbox.calls if c.template == template]


def test_first_import_creates_products_skus_warehouses_and_an_exact_ledger(
    connected, django_capture_on_commit_callbacks
):
    sandbox, sb_shop, shop, default = connected
    wh1, wh2 = sb_shop["warehouse_ids"]
    lip = sandbox.add_product(
        sb_shop["id"],
        title="Velvet Lip Oil",
        skus=[
            {"seller_sku": "VLO-BERRY", "price": "14.50", "inventory": {wh1: 30, wh2: 12}},
            {"seller_sku": "VLO-PEACH", "price": "14.50", "inventory": {wh1: 0, wh2: 4}},
        ],
    )
    serum = sandbox.add_product(
        sb_shop["id"], title="Hydra Serum", skus=[{"seller_sku": "HS-1", "price": "26.00", "quantity": 9}]
    )

    with django_capture_on_commit_callbacks(execute=True):
        run = catalog_sync(shop=shop, full=True)

    assert run.status == SyncRun.Status.DONE and run.kind == SyncRun.Kind.CATALOG
    assert (run.done, run.created, run.total) == (2, 3, 2)
    products = {p.tiktok_product_id: p for p in Product.objects.filter(account=shop.account)}
    assert set(products) == {lip["id"], serum["id"]}
    assert (
        products[lip["id"]].name == "Velvet Lip Oil" and products[lip["id"]].status == Product.Status.ACTIVE
    )
    assert CatalogLink.objects.filter(shop=shop).count() == 2
    berry = SKU.objects.get(account=shop.account, seller_sku="VLO-BERRY")
    assert berry.tiktok_sku_id == lip["skus"][0]["id"] and berry.product == products[lip["id"]]
    assert str(berry.price) == "14.50" and berry.currency == "USD"
    # the first TikTok warehouse took over the default warehouse; the second became a new one
    default.refresh_from_db()
    assert default.tiktok_warehouse_id == wh1
    second = Warehouse.objects.get(account=shop.account, tiktok_warehouse_id=wh2)
    assert second.name.startswith("TikTok warehouse") and not second.is_default
    # stock from TikTok, written as IN ledger rows that replay exactly
    levels = {
        (lv.sku.seller_sku, lv.warehouse_id): lv.on_hand for lv in StockLevel.objects.select_related("sku")
    }
    assert levels == {
        ("VLO-BERRY", default.pk): 30,
        ("VLO-BERRY", second.pk): 12,
        ("VLO-PEACH", second.pk): 4,
        ("HS-1", default.pk): 9,
    }
    entries = InventoryTransaction.objects.filter(account=shop.account)
    assert entries.count() == 4
    assert set(entries.values_list("type", "reason", "previous_level")) == {("IN", INITIAL_STOCK_REASON, 0)}
    assert entries.aggregate(t=Sum("quantity"))["t"] == 55
    assert ledger_reconcile(account=shop.account) == []
    # the summary was refreshed after commit, and TikTok already has these numbers: nothing to push
    berry.refresh_from_db()
    assert berry.summary_available == 42
    assert not PendingStockPush.objects.exists()
    shop.refresh_from_db()
    assert shop.catalog_cursor == max(lip["update_time"], serum["update_time"])
    assert shop.last_catalog_sync_at is not None


def test_existing_skus_matched_by_seller_sku_are_linked_and_keep_our_stock(
    connected, django_capture_on_commit_callbacks
):
    sandbox, sb_shop, shop, default = connected
    ours = ProductFactory(account=shop.account, name="Glow Balm (ours)")
    sku = stocked_sku(account=shop.account, on_hand=7, warehouse=default, seller_sku="GL-BALM", product=ours)
    doc = sandbox.add_product(
        sb_shop["id"], title="Glow Balm", skus=[{"seller_sku": "GL-BALM", "quantity": 50}]
    )

    with django_capture_on_commit_callbacks(execute=True):
        run = catalog_sync(shop=shop, full=True)

    sku.refresh_from_db()
    assert sku.tiktok_sku_id == doc["skus"][0]["id"]
    assert (run.created, run.updated) == (0, 1)
    assert SKU.objects.filter(account=shop.account).count() == 1
    # our product was adopted rather than duplicated
    ours.refresh_from_db()
    assert ours.tiktok_product_id == doc["id"] and ours.name == "Glow Balm"
    assert sku.product_id == ours.pk
    # our count stays: no ledger row from TikTok, and TikTok's 50 is to be corrected by a push
    assert StockLevel.objects.get(sku=sku).on_hand == 7
    assert not InventoryTransaction.objects.filter(sku=sku, reason=INITIAL_STOCK_REASON).exists()
    assert PendingStockPush.objects.filter(sku=sku).count() == 1


def test_incremental_sync_asks_only_from_the_cursor(connected):
    sandbox, sb_shop, shop, _default = connected
    old = sandbox.add_product(sb_shop["id"], title="Old Toner", skus=[{"seller_sku": "OT-1", "quantity": 3}])
    recent = sandbox.add_product(
        sb_shop["id"], title="New Mist", skus=[{"seller_sku": "NM-1", "quantity": 3}]
    )
    long_ago = int(time.time()) - 10 * CURSOR_OVERLAP
    with sandbox.state.lock:
        sandbox.state.products[old["id"]].update_time = long_ago
    catalog_sync(shop=shop, full=True)
    shop.refresh_from_db()
    assert shop.catalog_cursor == recent["update_time"]

    # TikTok renames the recent product; the old one changes "silently" (no newer update_time)
    with sandbox.state.lock:
        sandbox.state.products[recent["id"]].title = "New Mist XL"
        sandbox.state.products[old["id"]].title = "Renamed without an update"
    run = catalog_sync(shop=shop)

    assert run.done == 1  # only what changed since cursor - overlap came back
    assert Product.objects.get(tiktok_product_id=recent["id"]).name == "New Mist XL"
    assert Product.objects.get(tiktok_product_id=old["id"]).name == "Old Toner"


def test_an_older_product_document_never_overwrites_a_newer_one(connected):
    sandbox, sb_shop, shop, _default = connected
    doc = sandbox.add_product(
        sb_shop["id"], title="Plush Blush", skus=[{"seller_sku": "PB-1", "quantity": 5}]
    )
    catalog_sync(shop=shop, full=True)
    # we have applied a newer state (e.g. from a webhook) than TikTok's listing will now show
    CatalogLink.objects.filter(shop=shop, tiktok_product_id=doc["id"]).update(
        update_time=doc["update_time"] + 100
    )
    with sandbox.state.lock:
        sandbox.state.products[doc["id"]].title = "Stale title"

    run = catalog_sync(shop=shop, full=True)

    assert run.details["skipped_older"] == 1
    assert Product.objects.get(tiktok_product_id=doc["id"]).name == "Plush Blush"


def _webhook(sandbox, shop, *, type_, data, notification_id):
    body = json.dumps(
        {
            "type": type_,
            "tts_notification_id": notification_id,
            "shop_id": shop.shop_id,
            "timestamp": int(time.time()),
            "data": data,
        }
    ).encode()
    event, created = inbox_store(
        provider="tiktok", external_id=notification_id, event_type=str(type_), body=body, source=shop.shop_id
    )
    assert created
    return inbox_process(event_id=event.pk)


def test_product_status_webhook_refreshes_the_product_through_the_inbox(connected):
    sandbox, sb_shop, shop, _default = connected
    doc = sandbox.add_product(
        sb_shop["id"], title="Matte Liner", skus=[{"seller_sku": "ML-1", "quantity": 5}]
    )
    catalog_sync(shop=shop, full=True)
    changed = sandbox.set_product_status(doc["id"], "SELLER_DEACTIVATED", notify=False)
    sandbox.clear_calls()

    data = {
        "product_id": int(doc["id"]),
        "status": "SELLER_DEACTIVATED",
        "update_time": changed["update_time"],
    }
    result = _webhook(sandbox, shop, type_=5, data=data, notification_id="n-1")

    assert result.outcome == "done"
    product = Product.objects.get(tiktok_product_id=doc["id"])
    assert product.status == Product.Status.INACTIVE
    link = CatalogLink.objects.get(shop=shop, tiktok_product_id=doc["id"])
    assert (link.tiktok_status, link.update_time) == ("SELLER_DEACTIVATED", changed["update_time"])
    assert len(_calls(sandbox, GET_PRODUCT)) == 1

    # a late webhook about an older state does not even fetch
    stale = {"product_id": doc["id"], "status": "ACTIVATE", "update_time": changed["update_time"] - 5}
    assert _webhook(sandbox, shop, type_=5, data=stale, notification_id="n-0").outcome == "done"
    assert len(_calls(sandbox, GET_PRODUCT)) == 1
    assert Product.objects.get(pk=product.pk).status == Product.Status.INACTIVE


def test_product_refresh_imports_a_product_we_did_not_have(connected):
    sandbox, sb_shop, shop, default = connected
    doc = sandbox.add_product(
        sb_shop["id"], title="Silk Primer", skus=[{"seller_sku": "SP-1", "quantity": 8}]
    )
    product_refresh(shop=shop, product_id=doc["id"], update_time=doc["update_time"])
    sku = SKU.objects.get(account=shop.account, tiktok_sku_id=doc["skus"][0]["id"])
    assert sku.name == "Silk Primer" and StockLevel.objects.get(sku=sku, warehouse=default).on_hand == 8
    assert ledger_reconcile(account=shop.account) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pages_are_fetched_by_a_thread_while_written(tiktok_sandbox):
    """Outside a transaction on PostgreSQL the fetching thread runs: every page arrives, in order."""
    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    tiktok_sandbox.seed_catalog(sb_shop["id"], products=230, skus_per_product=1, quantity=60)

    run = catalog_sync(shop=shop, full=True)

    assert (run.status, run.done, run.created, run.total) == (SyncRun.Status.DONE, 230, 230, 230)
    assert len(_calls(tiktok_sandbox, SEARCH)) == 3
    assert StockLevel.objects.filter(sku__account=shop.account).aggregate(t=Sum("on_hand"))["t"] == 230 * 60
    assert ledger_reconcile(account=shop.account) == []
    # no default warehouse existed: the first TikTok warehouse became it
    assert Warehouse.objects.get(account=shop.account, is_default=True).tiktok_warehouse_id
