"""A label batch of 500 orders: from "Buy labels" to the merged PDF, with real Celery workers.

Setup in its own scratch PostgreSQL database (created, migrated, dropped) and Redis as the broker
(db 12, the benchmark's own, flushed afterwards): one account with a shop, a warehouse, the sandbox
carrier and ORDERS ready orders of 1-2 SKUs. One Celery worker is started as a subprocess with
WORKER_PROCESSES prefork processes on the `integrations` queue (where shipping runs), exactly as in
production; it also runs the follow-on pipeline step each bought label queues.

Timed: `label_batch_create` (the batch, its items and one outbox message per order, committed and
dispatched) until the batch has finished, i.e. every label is bought (sandbox carrier: rates, a real
4x6 PDF label with a barcode, stored) and the merged PDF of labels and packing slips is saved.
Figures: `batch_500_labels_seconds` (goal <= 60), `batch_500_labels_bought_seconds` (the part
before the merge starts), `batch_500_pages` (labels + slips) and `batch_500_failed` (must be 0).

Needs PostgreSQL (DATABASE_URL) and Redis at 127.0.0.1:6379; without them it says so and returns [].
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

ORDERS = 500
SKUS = 40
WORKER_PROCESSES = 2
BROKER = "redis://127.0.0.1:6379/12"
TIMEOUT = 600.0
ROOT = Path(__file__).resolve().parent.parent

RECIPIENT = {
    "address_line1": "350 Fifth Avenue",
    "postal_code": "10118",
    "region_code": "US",
    "district_info": [
        {"address_level": "L1", "address_name": "New York"},
        {"address_level": "L3", "address_name": "New York"},
    ],
}


def _setup():
    """The account, its creator, and ORDERS ready orders; returns (account, user, order ids)."""
    from decimal import Decimal

    from accounts.models import Account, Membership, User
    from inventory.models import SKU, Product, Warehouse
    from orders.models import Order, OrderItem, OrderStatus
    from shipping.models import CarrierAccount
    from tiktok.models import Shop

    rng = random.Random(11)  # noqa: S311 - a fixed, reproducible mix, not security
    account = Account.objects.create(name="Bench Shop")
    user = User.objects.create_user(email="bench-creator@example.com", password=None)
    Membership.objects.create(user=user, account=account, role="owner")
    shop = Shop.objects.create(account=account, shop_id="7495540735365777507", name="Bench", region="US")
    Warehouse.objects.create(
        account=account, name="Main", code="MAIN", is_default=True, contact_name="Shipping Desk",
        address_line1="100 Commerce St", city="Los Angeles", state="CA", postal_code="90012", country="US",
    )  # fmt: skip
    CarrierAccount.objects.create(account=account, provider="sandbox", name="Sandbox")
    product = Product.objects.create(account=account, name="Lip Oil")
    skus = SKU.objects.bulk_create(
        SKU(account=account, product=product, seller_sku=f"BENCH-{n:04d}", tiktok_sku_id=f"1729{n:06d}",
            name=f"Lip Oil {n}", weight_grams=80 + 10 * (n % 7), length_mm=120, width_mm=80, height_mm=40,
            location=f"A-{n % 12}")
        for n in range(SKUS)
    )  # fmt: skip
    orders = Order.objects.bulk_create(
        Order(account=account, shop=shop, tiktok_order_id=str(578000000000000000 + n),
              tiktok_status="AWAITING_SHIPMENT", status=OrderStatus.READY, recipient_name=f"Buyer {n}",
              recipient=RECIPIENT, country="US", state="NY", postal_code="10118", total=Decimal("24.00"))
        for n in range(ORDERS)
    )  # fmt: skip
    items = []
    for order in orders:
        for sku in rng.sample(skus, rng.randint(1, 2)):
            items.append(
                OrderItem(order=order, sku=sku, seller_sku=sku.seller_sku, tiktok_sku_id=sku.tiktok_sku_id,
                          product_name=sku.name, quantity=rng.randint(1, 2), line_item_ids=[])
            )  # fmt: skip
    OrderItem.objects.bulk_create(items)
    return account, user, [order.pk for order in orders]


def _start_worker(dbname: str) -> subprocess.Popen:
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="creatorflow.settings_test",
        DATABASE_URL=(
            f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:"
            f"{db.get('PORT') or 5432}/{dbname}"
        ),
        REDIS_URL=BROKER,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "creatorflow", "worker", "-Q", "integrations", "-c",
         str(WORKER_PROCESSES), "--pool", "prefork", "-l", "warning", "--without-gossip", "--without-mingle",
         "-n", f"bench-batch-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def _wait_ready(app, worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("the Celery worker exited during start-up")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("the Celery worker did not start")


def run() -> list[tuple[str, float, str]]:

    from bench._scratch import scratch_database, services_ready

    if not services_ready("bench_batch_labels", broker=BROKER):
        return []
    import redis
    from django.db import connections

    from creatorflow.celery import app

    scratch = f"cf_bench_batch_{os.getpid()}"
    previous_broker = app.conf.broker_url
    redis.Redis.from_url(BROKER).flushdb()
    with scratch_database(scratch):
        from shipping.models import LabelBatch, LabelBatchItem, Shipment
        from shipping.services.batches import label_batch_create

        account, user, order_ids = _setup()
        connections.close_all()
        app.conf.broker_url = BROKER  # this process publishes the batch's messages there
        worker = _start_worker(scratch)
        try:
            _wait_ready(app, worker)
            started = time.perf_counter()
            batch = label_batch_create(account=account, order_ids=order_ids, actor=user)
            deadline = started + TIMEOUT
            bought = None
            while time.perf_counter() < deadline:
                status = LabelBatch.objects.filter(pk=batch.pk).values_list("status", flat=True).get()
                if status != LabelBatch.Status.RUNNING:
                    break
                if bought is None and not batch.items.filter(status=LabelBatchItem.Status.PENDING).exists():
                    bought = time.perf_counter() - started
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(timeout=60)
            app.conf.broker_url = previous_broker
        batch.refresh_from_db()
        failed = batch.items.filter(status=LabelBatchItem.Status.FAILED).count()
        pending = batch.items.filter(status=LabelBatchItem.Status.PENDING).count()
        # The files live in the shared media folder, not in the scratch database: remove them.
        storage = batch.merged_pdf.storage
        for name in [
            *Shipment.objects.exclude(label_file="").values_list("label_file", flat=True),
            batch.merged_pdf.name,
        ]:
            if name:
                storage.delete(name)
    redis.Redis.from_url(BROKER).flushdb()
    if pending:
        print(f"bench_batch_labels: {pending} orders still pending after {TIMEOUT:.0f}s", file=sys.stderr)
    return [
        ("batch_500_labels_seconds", elapsed, "s"),
        ("batch_500_labels_bought_seconds", elapsed if bought is None else bought, "s"),
        ("batch_500_pages", float(batch.merged_pages), "pages"),
        ("batch_500_failed", float(failed), "orders"),
    ]
