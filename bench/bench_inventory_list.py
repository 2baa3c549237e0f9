"""Speed of the inventory list API on a 100,000-SKU catalogue (goal: p95 <= 50 ms on PostgreSQL).

Builds its own scratch database (`cf_bench_list` on the server DATABASE_URL names: dropped and
recreated every run, so figures never depend on leftovers), migrates it, loads one account with
100,000 SKUs by COPY (about 5% low on stock, 2% out, a fifth of them in a second warehouse, names
made of searchable words), VACUUM ANALYZEs (as autovacuum would have), and then times the real
endpoint through Django's test client with token auth:
`GET /api/inventory/products?status=low_stock&search=<word>&limit=50`, the question a creator asks
when a video takes off. Timing covers authentication, the query (page and `pagination.total`) and
JSON rendering; the first requests warm the connection and caches and are not counted.

Figures:
- `inventory_list_p95_ms`: the goal figure above (search words each match about 2% of the SKUs).
- `inventory_list_nosearch_p95_ms`: `status=low_stock&limit=50` without a search term (the status
  filter reads the SKU's stock summary, an indexed column).
- `inventory_dashboard_p95_ms`: the dashboard's stock page (`/inventory/` and its Low tab) rendered
  for a signed-in creator: page, status counts and chart.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime

SCRATCH_DB = "cf_bench_list"
SKUS = 100_000
VARIANTS_PER_PRODUCT = 5
REQUESTS = 200
WARMUP = 20

ADJECTIVES = (
    "classic vintage cosy glow mini mega smart silky bold pastel matte glossy urban boho retro "
    "sleek dreamy velvet cloud neon rustic golden frosted misty"
).split()
MATERIALS = "cotton linen bamboo ceramic glass steel oak walnut silicone leather wool jade".split()
# Fifty nouns: a search for one matches about 2% of the catalogue.
NOUNS = (
    "lamp mug tote hoodie candle blanket serum cleanser bottle planter pillow scrunchie wallet "
    "journal tumbler necklace bracelet earrings beanie scarf sneaker sock apron coaster diffuser "
    "brush comb mirror tray vase clock speaker charger case stand hanger basket rug towel robe "
    "slipper cap visor lipgloss balm mask patch headband keychain sticker"
).split()
COLOURS = "black white sand sage rose navy olive cream".split()
SEARCH_WORDS = ("lamp", "hoodie", "candle", "serum", "tumbler", "scarf", "diffuser", "vase", "robe", "mask")


def _log(message: str) -> None:
    print(f"bench_inventory_list: {message}", file=sys.stderr, flush=True)


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def _recreate_scratch_database(settings_dict: dict) -> None:
    import psycopg

    params = {
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SCRATCH_DB}"')


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _load_catalogue(account, warehouses) -> None:
    """COPY products, SKUs and stock levels straight into the tables (bulk_create is ~10x slower)."""
    from django.db import connection

    rng = random.Random(20240601)
    now = datetime.now(UTC)
    products, skus, levels = [], [], []
    for p in range(SKUS // VARIANTS_PER_PRODUCT):
        product_id = uuid.uuid4()
        title = f"{rng.choice(ADJECTIVES).title()} {rng.choice(MATERIALS)} {rng.choice(NOUNS)}"
        products.append((product_id, account.pk, title, "", "active", now, now))
        for v in range(VARIANTS_PER_PRODUCT):
            sku_id = uuid.uuid4()
            colour = COLOURS[(p + v) % len(COLOURS)]
            roll = rng.random()
            sales = rng.choice((0, 30, 90, 150, 300))  # threshold = max(10, 10% of monthly sales)
            threshold = max(10, -(-sales // 10))
            if roll < 0.02:
                on_hand = reserved = rng.randint(0, 3)  # out: nothing available
            elif roll < 0.07:
                available = rng.randint(1, threshold)
                reserved = rng.randint(0, 3)
                on_hand = available + reserved
            else:
                reserved = rng.randint(0, 5)
                on_hand = reserved + threshold + rng.randint(1, 400)
            skus.append(
                (
                    sku_id, account.pk, product_id, f"CF-{p:05d}-{v}", "", f"{title} - {colour}",
                    colour, "USD", "19.99", "6.50", 150, 120, 80, 40, "", None, None, None, None,
                    False, sales, "never", 0, True, now, now,
                )
            )  # fmt: skip
            if rng.random() < 0.2 and on_hand - reserved >= 2:  # split across two warehouses
                second = (on_hand - reserved) // 2
                levels.append((sku_id, warehouses[1].pk, second, 0, 0, now))
                levels.append((sku_id, warehouses[0].pk, on_hand - second, reserved, 0, now))
            else:
                levels.append((sku_id, warehouses[0].pk, on_hand, reserved, 0, now))
    sku_columns = [
        "id", "account_id", "product_id", "seller_sku", "tiktok_sku_id", "name", "variant", "currency",
        "price", "cost", "weight_grams", "length_mm", "width_mm", "height_mm", "location", "supplier_id",
        "lead_time_days", "low_stock_threshold", "last_inventory_sync", "auto_reorder",
        "avg_monthly_sales", "inventory_sync_status", "sync_failures", "is_active", "created_at",
        "updated_at",
    ]  # fmt: skip
    with connection.cursor() as cursor:
        raw = cursor.cursor
        _copy(raw, "inventory_product", ["id", "account_id", "name", "tiktok_product_id", "status",
                                         "created_at", "updated_at"], products)  # fmt: skip
        _copy(raw, "inventory_sku", sku_columns, skus)
        _copy(raw, "inventory_stocklevel", ["sku_id", "warehouse_id", "on_hand", "reserved", "version",
                                            "updated_at"], levels)  # fmt: skip
    # As autovacuum would have by now: fresh statistics, and the GIN indexes' pending lists merged
    # (rows COPYed in after CREATE INDEX sit in a slow-to-scan pending list until a vacuum).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _time(client, paths: list[str]) -> list[float]:
    samples = []
    for path in paths:
        start = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content[:200]!r}")
        samples.append(elapsed)
    return samples


def run() -> list[tuple[str, float, str]]:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    if not settings.USING_POSTGRES:
        _log("skipped: needs PostgreSQL (set DATABASE_URL=postgres://...)")
        return []

    started = time.perf_counter()
    connection.close()
    _recreate_scratch_database(connection.settings_dict)
    connection.settings_dict["NAME"] = SCRATCH_DB
    call_command("migrate", verbosity=0, interactive=False)

    from accounts.models import Account, Membership, Role, User
    from accounts.services import api_token_create
    from inventory.models import Warehouse

    user = User.objects.create_user(email="bench@example.com", password=None)
    account = Account.objects.create(name="Bench Shop")
    Membership.objects.create(user=user, account=account, role=Role.OWNER)
    _token, key = api_token_create(user=user, account=account, name="bench")
    warehouses = [
        Warehouse.objects.create(account=account, name="Main", code="MAIN", is_default=True),
        Warehouse.objects.create(account=account, name="Overflow", code="OVF"),
    ]
    _load_catalogue(account, warehouses)
    # COPY bypassed the services: compute the stock summaries as the sweep would.
    from inventory.services.summary import stock_summary_refresh

    stock_summary_refresh(account=account)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_sku")
    _log(f"set up {SKUS} SKUs in {time.perf_counter() - started:.1f} s")

    setup_test_environment()  # ALLOWED_HOSTS "testserver" and the like, as in the test suite
    client = Client(headers={"Authorization": f"Token {key}"})
    searched = [
        f"/api/inventory/products?status=low_stock&search={SEARCH_WORDS[i % len(SEARCH_WORDS)]}&limit=50"
        for i in range(WARMUP + REQUESTS)
    ]
    body = client.get(searched[0]).json()
    _log(f"'{SEARCH_WORDS[0]}' low on stock: {body['pagination']['total']} SKUs")
    search_samples = _time(client, searched)[WARMUP:]
    plain = ["/api/inventory/products?status=low_stock&limit=50"] * (WARMUP // 4 + REQUESTS // 4)
    plain_samples = _time(client, plain)[WARMUP // 4 :]
    # The dashboard's stock page as a creator opens it: all SKUs, most urgent first, with the
    # status tab counts and the landscape chart; and its "Low" tab.
    browser = Client()
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    pages = ["/inventory/", "/inventory/?status=low_stock"] * (WARMUP // 4 + REQUESTS // 4)
    page_samples = _time(browser, pages)[WARMUP // 2 :]
    connection.close()
    return [
        ("inventory_list_p95_ms", _p95(search_samples), "ms"),
        ("inventory_list_nosearch_p95_ms", _p95(plain_samples), "ms"),
        ("inventory_dashboard_p95_ms", _p95(page_samples), "ms"),
    ]
