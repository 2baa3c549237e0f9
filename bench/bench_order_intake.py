"""Order intake throughput: TikTok documents -> orders (upsert + reserve + score + rules), 2 processes.

Setup in its own scratch PostgreSQL database (created, migrated, dropped): one account and shop,
SKUS SKUs with ample stock, DOCS order documents of 1-3 SKUs (1-2 units each). Then WORKERS worker
processes (multiprocessing "spawn": each runs django.setup() and has its own connection) take
alternate documents and call `order_upsert_from_tiktok` until DURATION seconds pass or all are done.
order_intake_per_s = orders created / wall time of the slower worker. Goal >= 200.

Needs PostgreSQL (DATABASE_URL); without it, says so on stderr and returns [].
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import time

WORKERS = 2
SKUS = 200
DOCS = 3000
DURATION = 15.0


def _documents() -> list[dict]:
    from orders.tests.tiktok_docs import tiktok_order

    rng = random.Random(7)  # noqa: S311 - a fixed, reproducible mix, not security
    docs = []
    for _ in range(DOCS):
        picks = rng.sample(range(SKUS), rng.randint(1, 3))
        docs.append(
            tiktok_order(items=[(f"1729{n:06d}", f"BENCH-{n:04d}", rng.randint(1, 2)) for n in picks])
        )
    return docs


def _worker(scratch: str, shop_pk: str, docs: list[dict], start, results) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creatorflow.settings_test")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    settings.DATABASES["default"]["NAME"] = scratch
    from orders.services.intake import order_upsert_from_tiktok
    from tiktok.models import Shop

    shop = Shop.objects.select_related("account").get(pk=shop_pk)
    order_upsert_from_tiktok(shop=shop, payload=docs[0])  # warm up (caches, connection)
    start.wait()
    started = time.perf_counter()
    done = 0
    for doc in docs[1:]:
        if time.perf_counter() - started > DURATION:
            break
        if order_upsert_from_tiktok(shop=shop, payload=doc).created:
            done += 1
    results.put((done, time.perf_counter() - started))
    connection.close()


def run() -> list[tuple[str, float, str]]:
    from django.conf import settings

    if not settings.USING_POSTGRES:
        print("bench_order_intake: needs PostgreSQL (DATABASE_URL=postgres://...)", file=sys.stderr)
        return []
    from django.db import connections

    from bench._scratch import scratch_database

    scratch = f"cf_bench_orders_{os.getpid()}"
    with scratch_database(scratch):
        from accounts.models import Account
        from inventory.models import SKU, Product, StockLevel, Warehouse
        from tiktok.models import Shop

        account = Account.objects.create(name="Bench Shop")
        shop = Shop.objects.create(account=account, shop_id="7495540735365777507", name="Bench", region="US")
        warehouse = Warehouse.objects.create(account=account, name="Main", code="MAIN", is_default=True)
        product = Product.objects.create(account=account, name="Lip Oil")
        skus = SKU.objects.bulk_create(
            SKU(account=account, product=product, seller_sku=f"BENCH-{n:04d}", tiktok_sku_id=f"1729{n:06d}",
                name=f"Lip Oil {n}")
            for n in range(SKUS)
        )  # fmt: skip
        StockLevel.objects.bulk_create(StockLevel(sku=s, warehouse=warehouse, on_hand=10**6) for s in skus)
        docs = _documents()
        connections.close_all()

        ctx = multiprocessing.get_context("spawn")
        start = ctx.Barrier(WORKERS)
        results = ctx.Queue()
        shares = [docs[i::WORKERS] for i in range(WORKERS)]
        procs = [
            ctx.Process(target=_worker, args=(scratch, str(shop.pk), share, start, results))
            for share in shares
        ]
        for proc in procs:
            proc.start()
        outcomes = [results.get(timeout=DURATION + 120) for _ in procs]
        for proc in procs:
            proc.join()
        created = sum(done for done, _ in outcomes)
        elapsed = max(seconds for _, seconds in outcomes)
    return [("order_intake_per_s", created / elapsed, "orders/s")]
