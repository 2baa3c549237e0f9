"""The demo shop the sandbox serves under `make run`: Glow Lab Official with the demo catalogue.

Ids line up with the database demo (`orders.demo`, `inventory.demo`): the same shop id and warehouse,
the same seller SKUs, and SKU ids given the way `orders.demo._link_catalogue` gives them (the base
plus the SKU's position in seller-SKU order), so orders and stock pushes meet the same SKUs on both
sides. The tokens are fixed and long-lived so the demo database can hold them without an OAuth dance.

The demo's seeded orders are built once, by `orders.demo`, which writes the TikTok documents it
took in (with their addresses) to `demo_orders_path()`; the sandbox's book starts with exactly those
orders, under the same ids and the demo shop's delivery options, so a creator who ships one sees
TikTok take the package as it would a live order.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

DEMO_APP_KEY = "sandbox-app-key"
DEMO_APP_SECRET = "sandbox-app-secret"
DEMO_SERVICE_ID = "sandbox-service"
DEMO_SHOP_ID = "7495540735365777507"  # = orders.demo.SHOP_ID
DEMO_SHOP_NAME = "Glow Lab Official"
DEMO_SHOP_CIPHER = "ROW_GlowLabDemoCipher0000000000"
DEMO_SELLER = "glow-lab"
DEMO_ACCESS_TOKEN = "TTP_demo_access_GlowLab_0000000000000000"
DEMO_REFRESH_TOKEN = "TTP_demo_refresh_GlowLab_000000000000000"
DEMO_TOKEN_TTL = 10 * 365 * 86400
DEMO_WAREHOUSE_IDS = ("7068517275539719942", "7068517275539719943")  # LA1 (= orders.demo.WAREHOUSE_ID), NJ1
DEMO_SKU_ID_BASE = 1_729_592_969_712_200_000  # = orders.demo.TIKTOK_SKU_ID_BASE
DEMO_PRODUCT_ID_BASE = 1_729_582_718_312_300_000  # = orders.demo.TIKTOK_PRODUCT_ID_BASE
# The demo shop's delivery options (TikTok gives each shop its own ids; the first is the default).
DEMO_DELIVERY_OPTIONS = {"7091146663229654785": "Standard shipping", "7091146663229654786": "Express"}
DEMO_DELIVERY_OPTION_ID = next(iter(DEMO_DELIVERY_OPTIONS))
DEMO_STOCK = (40, 65, 12, 90, 30, 55, 8, 75, 20, 0, 48, 35)  # per SKU in turn, first warehouse
DEMO_VIDEOS = (
    ("Cloud Jelly Lip Oil: the glossiest 24 h", "LO"),  # first: the viral scenario picks it
    ("Morning glow routine with our serum", "GS"),
    ("Blush stick three ways", "BS"),
)


def demo_catalogue() -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """[(product name, product code, [(seller_sku, variant, price)])] from the inventory demo."""
    from inventory.demo import CATALOGUE

    rows = []
    for product, code, variants, price, *_ in CATALOGUE:
        skus = [
            (f"GL-{code}-{variant_code}" if variant_code else f"GL-{code}", variant, price)
            for variant, variant_code in variants
        ]
        rows.append((product, code, skus))
    return rows


def seed_demo(sb) -> dict:
    """Add the demo shop, its tokens, catalogue and videos to `sb`. Returns the shop dict."""
    shop = sb.add_shop(
        name=DEMO_SHOP_NAME,
        region="US",
        seller=DEMO_SELLER,
        shop_id=DEMO_SHOP_ID,
        cipher=DEMO_SHOP_CIPHER,
        warehouse_ids=DEMO_WAREHOUSE_IDS,
        delivery_options=DEMO_DELIVERY_OPTIONS,
    )
    sb.register_tokens(
        DEMO_SHOP_ID, access_token=DEMO_ACCESS_TOKEN, refresh_token=DEMO_REFRESH_TOKEN, ttl=DEMO_TOKEN_TTL
    )
    catalogue = demo_catalogue()
    order = sorted(seller_sku for _, _, skus in catalogue for seller_sku, _, _ in skus)
    sku_ids = {seller_sku: str(DEMO_SKU_ID_BASE + index) for index, seller_sku in enumerate(order)}
    products_by_code = {}
    for n, (name, code, skus) in enumerate(catalogue):
        first = sku_ids[skus[0][0]]
        product = sb.add_product(
            DEMO_SHOP_ID,
            title=name,
            product_id=str(int(first) - DEMO_SKU_ID_BASE + DEMO_PRODUCT_ID_BASE),
            skus=[
                {
                    "id": sku_ids[seller_sku],
                    "seller_sku": seller_sku,
                    "name": variant or name,
                    "price": price,
                    "inventory": {DEMO_WAREHOUSE_IDS[0]: DEMO_STOCK[(n + k) % len(DEMO_STOCK)] + 10 * k},
                }
                for k, (seller_sku, variant, price) in enumerate(skus)
            ],
        )
        products_by_code[code] = product["id"]
    for k, (title, code) in enumerate(DEMO_VIDEOS):
        sb.add_video(DEMO_SHOP_ID, title=title, product_ids=[products_by_code[code]], views=2500 * (3 - k))
    seed_demo_orders(sb)
    return shop


def demo_orders_path() -> Path:
    """Where `orders.demo` leaves the seeded orders for the sandbox (in var/, next to the demo database)."""
    from django.conf import settings

    return Path(
        getattr(settings, "TIKTOK_SANDBOX_DEMO_ORDERS", "")
        or Path(settings.VAR_DIR) / "sandbox-demo-orders.json"
    )


def remember_demo_orders(entries: list[dict]) -> None:
    """Called by the demo loader: [{"document", "address", "buyer"}], the orders as TikTok has them."""
    path = demo_orders_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"shop_id": DEMO_SHOP_ID, "orders": entries}))
    temporary.replace(path)  # whole or not at all: a sandbox starting meanwhile reads the old file


def seed_demo_orders(sb) -> int:
    """Put the demo's seeded orders into the sandbox's book; returns how many. No file (the demo was
    not loaded yet, or not by this checkout): none, and the sandbox serves live orders only."""
    path = demo_orders_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return 0
    except (OSError, ValueError) as exc:
        logger.warning(
            "sandbox: the demo's orders in %s cannot be read (%s); starting without them", path, exc
        )
        return 0
    added = 0
    for entry in data.get("orders") or []:
        try:
            sb.import_order(DEMO_SHOP_ID, entry["document"], address=entry["address"], buyer=entry["buyer"])
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("sandbox: a demo order was left out: %s", exc)
            continue
        added += 1
    return added
