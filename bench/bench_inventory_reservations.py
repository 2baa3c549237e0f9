"""How close `stock_reserve` on one hot SKU comes to the bare conditional UPDATE it is built on.

A viral video sends every order at one SKU, so all writers queue on one row lock. Both figures use
the same concurrency (THREADS threads, each with its own connection, DURATION seconds, ROUNDS
rounds alternating the two, averaged):
- hot_sku_reservations_per_s: `stock_reserve` of 1 unit, distinct order refs, each its own
  transaction (reservation row + conditional UPDATE + commit);
- raw_conditional_update_per_s: psycopg alone, autocommit, `UPDATE inventory_stocklevel SET
  reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1`.
hot_sku_ratio = first / second; the goal is >= 0.3.

Needs PostgreSQL (DATABASE_URL); it creates and drops its own scratch database on that server.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid

THREADS = 8
DURATION = 2.0  # seconds per measurement per round
ROUNDS = 3  # the two measurements alternate, so a busy machine weighs on both alike
HOT_STOCK = 10**9  # never runs out during the run, never near an alert threshold


def _timed(worker, *, warmup) -> float:
    """Run `worker(index, stop)` in THREADS threads for DURATION s after each warmed up; ops/s."""
    counts = [0] * THREADS
    ready = threading.Barrier(THREADS + 1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def body(index):
        try:
            state = warmup(index)
            ready.wait()
            counts[index] = worker(index, stop, state)
        except BaseException as exc:  # reported after the run
            errors.append(exc)
            ready.abort()

    threads = [threading.Thread(target=body, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    time.sleep(DURATION)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return sum(counts) / elapsed


def _measure(level_id, account, sku_id, conninfo) -> tuple[float, float]:
    import psycopg
    from django.db import connection

    from inventory.services.stock import ReservationLine, stock_reserve

    lines = [ReservationLine(sku_id, 1)]

    def reserve_warmup(index):
        stock_reserve(account=account, order_ref=f"warm:{uuid.uuid4()}", lines=lines)

    def reserve(index, stop, _state):
        done, prefix = 0, f"bench:{uuid.uuid4()}"
        try:
            while not stop.is_set():
                stock_reserve(account=account, order_ref=f"{prefix}:{done}", lines=lines)
                done += 1
        finally:
            connection.close()
        return done

    def raw_warmup(index):
        conn = psycopg.connect(**conninfo, autocommit=True)
        conn.execute("SELECT 1")
        return conn

    def raw(index, stop, conn):
        done = 0
        sql = "UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1"
        try:
            while not stop.is_set():
                conn.execute(sql, (level_id,), prepare=True)
                done += 1
        finally:
            conn.close()
        return done

    reserve_rates, raw_rates = [], []
    for _ in range(ROUNDS):
        reserve_rates.append(_timed(reserve, warmup=reserve_warmup))
        raw_rates.append(_timed(raw, warmup=raw_warmup))
    return sum(reserve_rates) / ROUNDS, sum(raw_rates) / ROUNDS


def run() -> list[tuple[str, float, str]]:
    from django.conf import settings

    if not settings.USING_POSTGRES:
        print("bench_inventory_reservations: needs PostgreSQL (DATABASE_URL=postgres://...)", file=sys.stderr)
        return []
    from bench._scratch import scratch_database

    with scratch_database(f"cf_bench_{os.getpid()}") as scratch_conninfo:
        from accounts.models import Account
        from inventory.models import SKU, Product, StockLevel, Warehouse

        account = Account.objects.create(name="Bench Shop")
        warehouse = Warehouse.objects.create(account=account, name="Main", code="MAIN", is_default=True)
        product = Product.objects.create(account=account, name="Viral Lip Oil")
        sku = SKU.objects.create(account=account, product=product, seller_sku="HOT-1", name="Viral Lip Oil")
        level = StockLevel.objects.create(sku=sku, warehouse=warehouse, on_hand=HOT_STOCK)
        reserve_rate, raw_rate = _measure(level.pk, account, sku.pk, scratch_conninfo)
    return [
        ("hot_sku_reservations_per_s", reserve_rate, "ops/s"),
        ("raw_conditional_update_per_s", raw_rate, "ops/s"),
        ("hot_sku_ratio", reserve_rate / raw_rate, "ratio (goal >= 0.3)"),
    ]
