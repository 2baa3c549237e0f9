"""A live CreatorFlow of its own, for the chaos scenarios: nothing shared is touched or broken.

`Stack` starts a PostgreSQL cluster and a Redis of its own (so a scenario may stop, freeze or empty
them), migrates, connects a TikTok sandbox shop with stocked SKUs and the built-in sandbox carrier,
and runs our processes the way production does (creatorflow.settings, DEBUG off): gunicorn, the
relay, one Celery worker pool per queue, and beat. This process talks to the same database through
Django (to set up and to measure) and runs the TikTok sandbox.

`post_webhooks` sends signed TikTok webhooks from several keep-alive connections at once and
records each answer's status and time, as TikTok's delivery would see them.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from dataclasses import dataclass, field

from creatorflow.core.testing_servers import AppProcess, OwnPostgres, OwnRedis, app_env, free_port

APP_KEY, APP_SECRET, SERVICE_ID = "chaos-app-key", "chaos-app-secret", "chaos-service"
WORKERS = {"webhooks": 2, "integrations": 2, "default": 1, "bulk": 1}


@dataclass
class Answer:
    status: int
    seconds: float
    sent_at: float


@dataclass
class Stack:
    name: str
    skus: int = 20
    carrier_options: dict = field(default_factory=dict)
    processes: dict[str, AppProcess] = field(default_factory=dict)

    def start(self, *, workers: bool = True) -> Stack:
        import django
        import environ
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connections

        from creatorflow.celery import app as celery_app
        from tiktok.sandbox.core import Sandbox

        django.setup()
        self.pg = OwnPostgres()
        self.redis = OwnRedis()
        dbname = f"cf_chaos_{self.name}"
        self.database_url = self.pg.create_database(dbname)
        # Django's default connection, in this process, becomes the stack's database (the handler
        # reads this very dict; a fresh wrapper is made for the PostgreSQL engine).
        default = settings.DATABASES["default"]
        self._saved = dict(default)
        connections.close_all()
        del connections["default"]
        default.clear()
        default.update(environ.Env.db_url_config(self.database_url))
        default.update(ATOMIC_REQUESTS=False, CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False, AUTOCOMMIT=True,
                       TIME_ZONE=None, OPTIONS={}, TEST={})  # fmt: skip
        call_command("migrate", verbosity=0, interactive=False)
        celery_app.conf.broker_url = self.redis.url
        self.sandbox = Sandbox(app_key=APP_KEY, app_secret=APP_SECRET, service_id=SERVICE_ID, port=0,
                               rate_limit_per_s=1000)  # fmt: skip
        self.sandbox.start()
        self.shop, self.sku_ids, self.carrier = _setup(
            self.sandbox, skus=self.skus, options=self.carrier_options
        )
        self.port = free_port()
        self.env = app_env(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis.url,
            CELERY_BROKER_URL=self.redis.url,
            TIKTOK_APP_KEY=APP_KEY,
            TIKTOK_APP_SECRET=APP_SECRET,
            TIKTOK_SERVICE_ID=SERVICE_ID,
            TIKTOK_API_BASE_URL=self.sandbox.base_url,
            TIKTOK_AUTH_BASE_URL=self.sandbox.base_url,
            SHIPPING_SANDBOX_WEBHOOK_URL="",
            LOG_LEVEL="WARNING",
        )
        self.processes["web"] = AppProcess.gunicorn(self.env, port=self.port)
        self.processes["relay"] = AppProcess.relay(self.env)
        self.processes["beat"] = AppProcess(
            "beat", [sys.executable, "-m", "celery", "-A", "creatorflow", "beat", "--loglevel", "WARNING", "-s",
                     f"{self.pg.dir}/beat-schedule"], self.env)  # fmt: skip
        if workers:
            self.start_workers()
        self.base_url = f"http://127.0.0.1:{self.port}"
        return self

    def start_workers(self, queues=None) -> None:
        for queue, concurrency in WORKERS.items():
            if queues is not None and queue not in queues:
                continue
            key = f"worker-{queue}"
            if key in self.processes and self.processes[key].alive():
                continue
            self.processes[key] = AppProcess.worker(self.env, queues=queue, name=key, concurrency=concurrency)

    def stop_workers(self) -> None:
        for key in [k for k in self.processes if k.startswith("worker-")]:
            self.processes.pop(key).stop()

    def stop(self) -> None:
        from django.conf import settings
        from django.db import connections

        for process in self.processes.values():
            process.stop()
        self.processes.clear()
        self.sandbox.stop()
        connections.close_all()
        del connections["default"]
        settings.DATABASES["default"].clear()
        settings.DATABASES["default"].update(self._saved)
        self.redis.stop()
        self.pg.remove()

    # --- load ---------------------------------------------------------------------------------

    def create_orders(self, n: int, *, seed: int = 7) -> list[str]:
        """Orders placed at TikTok (the sandbox) without their webhooks: the caller delivers those."""
        import random

        rng = random.Random(seed)
        ids = []
        for _ in range(n):
            picks = rng.sample(self.sku_ids, rng.choice((1, 1, 2)))
            doc = self.sandbox.create_order(self.shop.shop_id, items=[(s, rng.choice((1, 2))) for s in picks],
                                            notify=False)  # fmt: skip
            ids.append(str(doc["id"]))
        return ids

    def webhook_body(self, order_id: str, n: int) -> bytes:
        doc = self.sandbox.get_order(order_id)
        return json.dumps(
            {"type": 1, "tts_notification_id": f"chaos-{self.name}-{order_id}-{n}", "shop_id": self.shop.shop_id,
             "timestamp": int(time.time()), "data": {"order_id": order_id, "order_status": doc["status"],
                                                     "is_on_hold_order": False, "update_time": doc["update_time"]}},
            separators=(",", ":"),
        ).encode()  # fmt: skip

    def post_webhooks(
        self, bodies: list[bytes], *, connections: int = 4, pace_per_s: float | None = None
    ) -> list[Answer]:
        """Deliver `bodies` over `connections` keep-alive connections (at `pace_per_s` overall, or
        as fast as answered); one Answer per body, in sending order."""
        from tiktok.signing import webhook_sign

        answers: list[Answer | None] = [None] * len(bodies)
        cursor = iter(range(len(bodies)))
        lock = threading.Lock()
        start = time.monotonic()

        def sender():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    break
                if pace_per_s:
                    time.sleep(max(0.0, start + index / pace_per_s - time.monotonic()))
                body = bodies[index]
                headers = {"Content-Type": "application/json",
                           "Authorization": webhook_sign(app_key=APP_KEY, app_secret=APP_SECRET, body=body)}  # fmt: skip
                sent = time.monotonic()
                try:
                    conn.request("POST", "/webhooks/tiktok/", body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    status = 0
                answers[index] = Answer(status, time.monotonic() - sent, sent - start)
            conn.close()

        threads = [threading.Thread(target=sender) for _ in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [a for a in answers if a is not None]


def _setup(sandbox, *, skus: int, options: dict):
    from inventory.tests.factories import WarehouseFactory, stocked_sku
    from shipping.models import CarrierAccount
    from tiktok.tests.connected import connect_sandbox_shop

    _sb_shop, shop = connect_sandbox_shop(sandbox)
    products = sandbox.seed_catalog(
        shop.shop_id, products=max(1, skus // 2), skus_per_product=2, quantity=100000
    )
    warehouse = WarehouseFactory(account=shop.account, is_default=True)
    sku_ids = []
    for product in products:
        for sku in product["skus"]:
            stocked_sku(account=shop.account, on_hand=100000, warehouse=warehouse,
                        tiktok_sku_id=sku["id"], seller_sku=sku["seller_sku"])  # fmt: skip
            sku_ids.append(sku["id"])
    carrier = CarrierAccount.objects.create(
        account=shop.account, provider="sandbox", name="Sandbox carrier", options=options
    )
    return shop, sku_ids, carrier


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wait_until(predicate, *, timeout: float, interval: float = 0.5) -> float | None:
    """Seconds until `predicate()` held, or None if it did not within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    return None
