"""The demo shop the sandbox serves under `make run`: Glow Lab Official with the demo catalogue.

Ids line up with the database demo (`orders.demo`, `inventory.demo`): the same shop id and warehouse,
the same seller SKUs, and SKU ids given the way `orders.demo._link_catalogue` gives them (the base
plus the SKU's position in seller-SKU order), so orders and stock pushes meet the same SKUs on both
sides. The tokens are fixed and long-lived so the demo database can hold them without an OAuth dance.
"""

from __future__ import annotations

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
    return shop
