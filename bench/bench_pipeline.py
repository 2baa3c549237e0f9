"""Flow 1 under load: TikTok webhook received → tracking number accepted by TikTok, with no human.

Setup: a scratch PostgreSQL database; Redis db 12 as broker and cache; the TikTok sandbox (in this
process) with one connected shop and 50 stocked SKUs; gunicorn serving our webhook endpoint; two
Celery workers consuming every queue, each with two processes as the Procfile's worker runs
(BENCH_PIPELINE_CONCURRENCY=1 for one process each); the relay; the built-in sandbox carrier.

Load: the sandbox creates RATE_PER_MIN orders a minute for DURATION seconds (1–3 units of one or two
SKUs), each announced by its signed webhook to our endpoint. Then the run drains for up to DRAIN s.

Figures:
- `pipeline_p95_seconds` (goal ≤ 5): per order, from the first TikTok webhook for it stored in our
  inbox (`received_at`) to our record that TikTok accepted the package (the `tiktok_package` timeline
  entry written right after Mark Package As Shipped answered), 95th percentile; also p50 and max.
- `automation_rate` (goal ≥ 95%): orders the sandbox created that reached `shipped` (or later) with
  no person touching them, over all orders created.

Needs PostgreSQL (DATABASE_URL) and Redis at 127.0.0.1:6379; without them it says so and returns [].
Environment knobs: BENCH_PIPELINE_RATE (orders/min, default 500), BENCH_PIPELINE_SECONDS (default 180).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

RATE_PER_MIN = int(os.environ.get("BENCH_PIPELINE_RATE", "500"))
DURATION = float(os.environ.get("BENCH_PIPELINE_SECONDS", "180"))
DRAIN = 120.0
# Each of the two workers runs as the Procfile runs one in production: two processes.
CONCURRENCY = int(os.environ.get("BENCH_PIPELINE_CONCURRENCY", "2"))
LOG_DIR = os.environ.get("BENCH_PIPELINE_LOG_DIR", "")  # worker logs (INFO) for a closer look
BROKER = "redis://127.0.0.1:6379/12"
APP_KEY, APP_SECRET, SERVICE_ID = "bench-app-key", "bench-app-secret", "bench-service"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("the web server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the web server did not start")


def _setup(sandbox):
    from inventory.tests.factories import WarehouseFactory, stocked_sku
    from shipping.models import CarrierAccount
    from tiktok.tests.connected import connect_sandbox_shop

    sb_shop, shop = connect_sandbox_shop(sandbox)
    products = sandbox.seed_catalog(shop.shop_id, products=25, skus_per_product=2, quantity=100000)
    warehouse = WarehouseFactory(account=shop.account, is_default=True)
    sku_ids = []
    for product in products:
        for sku in product["skus"]:
            stocked_sku(account=shop.account, on_hand=100000, warehouse=warehouse,
                        tiktok_sku_id=sku["id"], seller_sku=sku["seller_sku"])  # fmt: skip
            sku_ids.append(sku["id"])
    CarrierAccount.objects.create(account=shop.account, provider="sandbox", name="Sandbox carrier")
    return shop, sku_ids


def _measure(shop, created_ids: list[str]) -> tuple[list[float], int, int]:
    from creatorflow.inbox.models import InboundEvent
    from orders.models import Order, OrderEvent, OrderStatus

    received: dict[str, float] = {}
    for body, at in InboundEvent.objects.filter(provider="tiktok").values_list("body", "received_at"):
        payload = json.loads(bytes(body))
        order_id = str((payload.get("data") or {}).get("order_id") or "")
        if order_id and (order_id not in received or at.timestamp() < received[order_id]):
            received[order_id] = at.timestamp()
    accepted = dict(
        OrderEvent.objects.filter(order__shop=shop, type="tiktok_package").values_list(
            "order__tiktok_order_id", "created_at"
        )
    )
    latencies = [
        accepted[o].timestamp() - received[o] for o in created_ids if o in accepted and o in received
    ]
    # where the time goes: received → order stored → label bought → TikTok accepted (medians)
    stored = dict(Order.objects.filter(shop=shop).values_list("tiktok_order_id", "created_at"))
    labelled = dict(
        OrderEvent.objects.filter(
            order__shop=shop, type="status", to_status=OrderStatus.LABEL_PURCHASED
        ).values_list("order__tiktok_order_id", "created_at")
    )
    stages = {"intake": [], "label": [], "tiktok": []}
    for o in created_ids:
        if o in received and o in stored and o in labelled and o in accepted:
            stages["intake"].append(stored[o].timestamp() - received[o])
            stages["label"].append(labelled[o].timestamp() - stored[o].timestamp())
            stages["tiktok"].append(accepted[o].timestamp() - labelled[o].timestamp())
    for name, values in stages.items():
        values.sort()
        if values:
            print(f"bench_pipeline: median {name} {values[len(values) // 2]:.2f} s, p95 "
                  f"{values[int(0.95 * (len(values) - 1))]:.2f} s", file=sys.stderr)  # fmt: skip
    done = {OrderStatus.SHIPPED, OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED, OrderStatus.COMPLETED}
    automated = Order.objects.filter(
        shop=shop, tiktok_order_id__in=created_ids, status__in=done, touched_by_human=False
    ).count()
    return latencies, automated, len(created_ids)


def run() -> list[tuple[str, float, str]]:
    from django.conf import settings

    from bench._scratch import scratch_database, services_ready

    if not services_ready("bench_pipeline", broker=BROKER):
        return []
    import redis

    from tiktok.sandbox.core import Sandbox

    redis.Redis.from_url(BROKER).flushdb()
    scratch = f"cf_bench_pipeline_{os.getpid()}"
    procs: list[subprocess.Popen] = []
    sandbox = Sandbox(app_key=APP_KEY, app_secret=APP_SECRET, service_id=SERVICE_ID, port=0,
                      rate_limit_per_s=1000)  # fmt: skip
    sandbox.start()
    try:
        with scratch_database(scratch) as info:
            shop, sku_ids = _setup(sandbox)
            port = _free_port()
            db = settings.DATABASES["default"]
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "creatorflow.settings",
                "DATABASE_URL": f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{info['dbname']}",
                "REDIS_URL": BROKER,
                "CELERY_BROKER_URL": BROKER,
                "SECRET_KEY": settings.SECRET_KEY,
                "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
                "DEBUG": "false",
                "ALLOWED_HOSTS": "127.0.0.1",
                "SECURE_SSL_REDIRECT": "false",
                "TIKTOK_APP_KEY": APP_KEY,
                "TIKTOK_APP_SECRET": APP_SECRET,
                "TIKTOK_SERVICE_ID": SERVICE_ID,
                "TIKTOK_API_BASE_URL": sandbox.base_url,
                "TIKTOK_AUTH_BASE_URL": sandbox.base_url,
                "SENTRY_DSN": "",
            }
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "creatorflow.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
                 "-k", "gthread", "--threads", "4", "--log-level", "warning"],
                cwd=ROOT, env=env,
            ))  # fmt: skip
            # The relay sends what the web requests stored (no request publishes to the broker).
            procs.append(subprocess.Popen(
                [sys.executable, "manage.py", "run_relay"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            ))  # fmt: skip
            for n in range(2):
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "creatorflow", "worker", "-Q",
                     "default,webhooks,integrations,bulk", "--concurrency", str(CONCURRENCY), "-n", f"bench{n}@%h",
                     "--loglevel", "INFO" if LOG_DIR else "WARNING", "--without-gossip", "--without-mingle",
                     "--without-heartbeat", *([f"--logfile={LOG_DIR}/worker{n}.log"] if LOG_DIR else [])],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                ))  # fmt: skip
            _wait_port(port, procs[0])
            time.sleep(3)  # the workers connect
            sandbox.webhook_url = f"http://127.0.0.1:{port}/webhooks/tiktok/"

            rng = random.Random(7)
            interval = 60.0 / RATE_PER_MIN
            created: list[str] = []
            start = time.monotonic()
            while time.monotonic() - start < DURATION:
                due = start + len(created) * interval
                if time.monotonic() < due:
                    time.sleep(max(0.0, due - time.monotonic()))
                picks = rng.sample(sku_ids, rng.choice((1, 1, 1, 2)))
                doc = sandbox.create_order(shop.shop_id, items=[(s, rng.choice((1, 1, 2, 3))) for s in picks])
                created.append(str(doc["id"]))
            deadline = time.monotonic() + DRAIN
            from orders.models import OrderEvent

            while time.monotonic() < deadline:
                if OrderEvent.objects.filter(order__shop=shop, type="tiktok_package").count() >= len(created):
                    break
                time.sleep(1)
            latencies, automated, total = _measure(shop, created)
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
            procs.clear()
    finally:
        for proc in procs:
            proc.kill()
        sandbox.stop()
        redis.Redis.from_url(BROKER).flushdb()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return [
        ("pipeline_orders_created", float(total), "orders"),
        ("pipeline_orders_shipped", float(len(latencies)), "orders"),
        ("pipeline_p50_seconds", pct(0.50), "s"),
        ("pipeline_p95_seconds", pct(0.95), "s"),
        ("pipeline_max_seconds", latencies[-1] if latencies else float("nan"), "s"),
        ("automation_rate", 100.0 * automated / total if total else float("nan"), "%"),
    ]


if __name__ == "__main__":
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creatorflow.settings_test")
    django.setup()
    for name, value, unit in run():
        print(f"{name}: {value:.3f} {unit}")
