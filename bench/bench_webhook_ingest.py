"""Webhook intake against a bare view, same server: how much of the server's capacity intake costs.

Setup: a scratch PostgreSQL database, Redis as the broker (db 13, the benchmark's own), and one
gunicorn (2 gthread workers × 4 threads, production settings, DEBUG off) serving both
`POST /webhooks/tiktok/` and `POST /bench/bare/` (which only reads the body). The load generator
runs on loopback in 2 processes × 4 keep-alive connections (as if behind the TLS proxy), each sending pre-signed TikTok webhooks
(unique `tts_notification_id`, so each is a new event) for DURATION seconds, first to the bare view,
then to the webhook endpoint.

Figures: `bare_view_per_s`, `webhook_ingest_per_s`, their ratio `webhook_ingest_ratio` (goal ≥ 0.5),
`webhook_p99_ms` (goal ≤ 50) and `webhook_events_lost` = accepted (HTTP 200) − stored events, which
must be 0. No Celery worker runs: the processing messages wait in the benchmark's broker database,
which is flushed afterwards.

Needs PostgreSQL (DATABASE_URL) and Redis at 127.0.0.1:6379; without them it says so and returns [].
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

DURATION = 8.0
WARMUP = 1.5
PROCESSES = 2
CONNECTIONS = 4
WORKERS = 2
THREADS = 4
BROKER = "redis://127.0.0.1:6379/13"
APP_KEY, APP_SECRET = "bench-app-key", "bench-app-secret"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _body(proc: int, conn: int, n: int) -> bytes:
    doc = {
        "type": 1,
        "tts_notification_id": f"bench-{os.getpid()}-{proc}-{conn}-{n}",
        "shop_id": "7495540735365777507",
        "timestamp": 1718305585,
        "data": {
            "order_id": str(576653688135258178 + n),
            "order_status": "AWAITING_SHIPMENT",
            "update_time": 1718305585,
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _connection(port: int, path: str, proc: int, conn: int, deadline: float, start: float, out) -> None:
    from tiktok.signing import webhook_sign

    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, accepted, total_ok, errors, n = [], 0, 0, 0, 0
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        body = _body(proc, conn, n)
        n += 1
        headers = {
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",  # as behind the TLS-terminating proxy of production
            "Authorization": webhook_sign(app_key=APP_KEY, app_secret=APP_SECRET, body=body),
        }
        sent = time.perf_counter()
        try:
            client.request("POST", path, body=body, headers=headers)
            response = client.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            client.close()
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        done = time.perf_counter()
        total_ok += response.status == 200
        if sent >= start:  # requests of the warm-up are not counted
            latencies.append(done - sent)
            accepted += response.status == 200
            errors += response.status != 200
    client.close()
    out.put((latencies, accepted, total_ok, errors))


def _generator(port: int, path: str, proc: int, start: float, deadline: float, results) -> None:
    import queue
    import threading

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creatorflow.settings_test")
    sys.path.insert(0, str(ROOT))
    local: queue.Queue = queue.Queue()
    threads = [
        threading.Thread(target=_connection, args=(port, path, proc, c, deadline, start, local))
        for c in range(CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies, accepted, total_ok, errors = [], 0, 0, 0
    while not local.empty():
        lat, acc, ok, err = local.get()
        latencies += lat
        accepted += acc
        total_ok += ok
        errors += err
    results.put((latencies, accepted, total_ok, errors))


def _load(port: int, path: str) -> tuple[float, float, int, int]:
    """Requests/s and p99 ms over DURATION seconds after WARMUP; all 200s (warm-up too); errors."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start = time.perf_counter() + WARMUP
    deadline = start + DURATION
    procs = [
        ctx.Process(target=_generator, args=(port, path, p, start, deadline, results))
        for p in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=DURATION + WARMUP + 60) for _ in procs]
    for proc in procs:
        proc.join()
    latencies = sorted(lat for lats, _, _, _ in outcomes for lat in lats)
    accepted = sum(acc for _, acc, _, _ in outcomes)
    total_ok = sum(ok for _, _, ok, _ in outcomes)
    errors = sum(err for _, _, _, err in outcomes)
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else float("nan")
    return accepted / DURATION, p99, total_ok, errors


def _wait_ready(port: int, server: subprocess.Popen) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def run() -> list[tuple[str, float, str]]:
    from django.conf import settings

    from bench._scratch import scratch_database, services_ready

    if not services_ready("bench_webhook_ingest", broker=BROKER):
        return []
    import redis
    from cryptography.fernet import Fernet

    scratch = f"cf_bench_webhooks_{os.getpid()}"
    with scratch_database(scratch) as info:
        from creatorflow.inbox.models import InboundEvent

        port = _free_port()
        db = settings.DATABASES["default"]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.webhook_site",
            "DATABASE_URL": f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{info['dbname']}",
            "REDIS_URL": BROKER,
            "SECRET_KEY": "bench-" + "x" * 50,
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "TIKTOK_APP_KEY": APP_KEY,
            "TIKTOK_APP_SECRET": APP_SECRET,
            "SENTRY_DSN": "",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "creatorflow.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(WORKERS),
             "-k", "gthread", "--threads", str(THREADS), "--log-level", "warning", "--keep-alive", "30"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        try:
            _wait_ready(port, server)
            bare_rate, bare_p99, _, bare_errors = _load(port, "/bench/bare/")
            before = InboundEvent.objects.count()
            hook_rate, hook_p99, accepted, hook_errors = _load(port, "/webhooks/tiktok/")
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored = InboundEvent.objects.count() - before
        redis.Redis.from_url(BROKER).flushdb()
    if bare_errors or hook_errors:
        print(f"bench_webhook_ingest: {bare_errors} bare / {hook_errors} webhook errors", file=sys.stderr)
    return [
        ("bare_view_per_s", bare_rate, "req/s"),
        ("bare_view_p99_ms", bare_p99, "ms"),
        ("webhook_ingest_per_s", hook_rate, "req/s"),
        ("webhook_ingest_ratio", hook_rate / bare_rate, "ratio"),
        ("webhook_p99_ms", hook_p99, "ms"),
        ("webhook_events_accepted", float(accepted), "events"),
        ("webhook_events_stored", float(stored), "events"),
    ]
