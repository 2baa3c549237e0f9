"""Catalogue sync: 10,000 TikTok SKUs into inventory, against TikTok's 50 requests/s.

Setup in its own scratch PostgreSQL database (created, migrated, dropped): an in-process sandbox
(the real rate limit: 50 requests/s per path and shop) holding PRODUCTS products of SKUS_PER_PRODUCT
SKU with stock in the first of its two warehouses; one account with a default warehouse; our shop
connected to it with valid tokens. Then one timed `catalog_sync(shop=..., full=True)`, pages of 100
as production asks.

Why 10,000 products of one SKU: that is the shape where the rate limit binds hardest (100 requests,
so the bound is 2 s), which is what this figure is about: whether the sync keeps up with the fastest
TikTok lets us read. With several SKUs a product the pages are fewer but each carries more rows, so
the bound shrinks below what writing 10,000 SKUs costs and the ratio would measure the database
instead of the overlap. The first import also writes every SKU's opening stock (levels and IN
ledger rows), as a real first import does.

Figures: catalog_sync_seconds (wall time), catalog_sync_requests (search calls the sandbox served),
catalog_sync_vs_rate_bound = seconds / (requests / 50 per s); goal <= 1.2. catalog_fetch_only_seconds:
the same pages read through the client without writing anything, i.e. the floor the sandbox and the
client set under the sync (the sandbox re-sorts the whole catalogue for every page it serves).
Needs PostgreSQL (DATABASE_URL); without it, says so on stderr and returns [].
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

PRODUCTS = 10_000
SKUS_PER_PRODUCT = 1
QUANTITY = 100
RATE_PER_S = 50.0
SEARCH = "/product/202309/products/search"


def _connect(sandbox, account):
    """Our shop for the sandbox shop, with the tokens the sandbox issued (as the OAuth flow stores)."""
    from django.utils import timezone

    from tiktok.models import Shop, ShopAuthorization

    sb_shop = sandbox.add_shop(name="Bench Beauty", region="US", seller="bench-seller")
    tokens = sandbox.tokens_for(sb_shop["id"])
    now = timezone.now()
    authorization = ShopAuthorization.objects.create(
        account=account,
        open_id="openid-bench",
        seller_name="Bench Beauty",
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        access_token_expires_at=now + timedelta(days=7),
        refresh_token_expires_at=now + timedelta(days=30),
    )
    shop = Shop.objects.create(
        account=account,
        authorization=authorization,
        shop_id=sb_shop["id"],
        name=sb_shop["name"],
        region="US",
        cipher=sb_shop["cipher"],
        status=Shop.Status.CONNECTED,
        connected_at=now,
    )
    return sb_shop, shop


def _point_settings_at(sandbox) -> dict:
    from django.conf import settings

    wanted = {
        "TIKTOK_APP_KEY": sandbox.app_key,
        "TIKTOK_APP_SECRET": sandbox.app_secret,
        "TIKTOK_SERVICE_ID": sandbox.service_id,
        "TIKTOK_API_BASE_URL": sandbox.base_url,
        "TIKTOK_AUTH_BASE_URL": sandbox.base_url,
    }
    previous = {name: getattr(settings, name, None) for name in wanted}
    for name, value in wanted.items():
        setattr(settings, name, value)
    return previous


def run() -> list[tuple[str, float, str]]:
    from django.conf import settings

    if not settings.USING_POSTGRES:
        print("bench_catalog_sync: needs PostgreSQL (DATABASE_URL=postgres://...)", file=sys.stderr)
        return []
    from bench._scratch import scratch_database

    scratch = f"cf_bench_catalog_{os.getpid()}"
    with scratch_database(scratch):
        from accounts.models import Account
        from inventory.models import SKU, Warehouse
        from inventory.services.stock import ledger_reconcile
        from tiktok.client import TikTokClient
        from tiktok.sandbox.core import Sandbox
        from tiktok.services.catalog import catalog_sync

        with Sandbox(app_key="bench-app", app_secret="bench-secret", rate_limit_per_s=RATE_PER_S) as sandbox:
            previous = _point_settings_at(sandbox)
            try:
                account = Account.objects.create(name="Bench Beauty")
                Warehouse.objects.create(account=account, name="Main", code="MAIN", is_default=True)
                sb_shop, shop = _connect(sandbox, account)
                sandbox.seed_catalog(
                    sb_shop["id"], products=PRODUCTS, skus_per_product=SKUS_PER_PRODUCT, quantity=QUANTITY
                )
                sandbox.clear_calls()

                started = time.perf_counter()
                sync = catalog_sync(shop=shop, full=True)
                seconds = time.perf_counter() - started

                requests = sandbox.calls_by_path().get(SEARCH, 0)
                imported = SKU.objects.filter(account=account).count()
                if sync.status != "done" or imported != PRODUCTS * SKUS_PER_PRODUCT:
                    raise RuntimeError(
                        f"catalogue sync incomplete: {sync.status}, {imported} SKUs, {sync.error}"
                    )
                if ledger_reconcile(account=account):
                    raise RuntimeError("the imported stock does not reconcile with its ledger")
                time.sleep(1)  # let the rate bucket refill, then page alone: the floor under the sync
                started = time.perf_counter()
                for _page in TikTokClient(shop=shop).iter_product_pages(page_size=100):
                    pass
                fetch_only = time.perf_counter() - started
            finally:
                for name, value in previous.items():
                    setattr(settings, name, value)
    bound = requests / RATE_PER_S
    return [
        ("catalog_sync_seconds", seconds, "s"),
        ("catalog_sync_requests", float(requests), "requests"),
        ("catalog_sync_vs_rate_bound", seconds / bound if bound else float("nan"), "x"),
        ("catalog_fetch_only_seconds", fetch_only, "s"),
    ]


if __name__ == "__main__":  # one benchmark alone: python -m bench.bench_catalog_sync
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creatorflow.settings_test")
    import django

    django.setup()
    for figure, value, unit in run():
        print(f"{figure}: {value:.3f} {unit}")
