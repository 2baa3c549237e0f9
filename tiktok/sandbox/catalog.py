"""Products, SKUs with stock per warehouse, and videos: the catalogue half of the sandbox state.

A mixin of `SandboxState` (it uses its lock, ids and `emit`); kept apart so neither file grows past
a readable size.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal, InvalidOperation

from .documents import product_document, video_summary
from .records import (
    INVENTORY_STATUS_CHANGE,
    PRODUCT_STATUS_CHANGE,
    PRODUCT_STATUSES,
    Product,
    Sku,
    Video,
    bump,
    not_found,
)

ADJECTIVES = ("Cloud", "Velvet", "Dewy", "Glow", "Hydra", "Silk", "Matte", "Plush", "Bright", "Pure")
NOUNS = ("Lip Oil", "Serum", "Blush", "Mascara", "Primer", "Balm", "Toner", "Mist", "Liner", "Tint")
VARIANTS = ("Berry", "Peach", "Clear", "Rose", "Nude", "Mocha", "Coral", "Plum")
# Per-SKU inventory/update failures (inside a code-0 answer, as TikTok reports them)
SKU_NOT_IN_PRODUCT = 12019001
WAREHOUSE_UNKNOWN = 12019002
QUANTITY_INVALID = 12019003
MAX_QUANTITY = 999_999


def _price(value) -> Decimal:
    try:
        price = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(f"bad price {value!r}") from exc
    if price < 0:
        raise ValueError("price must not be negative")
    return price


class CatalogMixin:
    # products ------------------------------------------------------------------------------------
    def add_product(
        self, shop_id, *, title: str, skus: list[dict], status: str = "ACTIVATE", product_id=None
    ):
        """Create a product; each SKU's `quantity` goes to the shop's first warehouse unless
        `inventory` ({warehouse_id: qty}) says where."""
        if status not in PRODUCT_STATUSES:
            raise ValueError(f"unknown product status {status!r}")
        with self.lock:
            shop = self.shop(shop_id)
            now = int(time.time())
            product = Product(
                id=str(product_id) if product_id else self.new_id("product"),
                shop_id=shop.id,
                title=title,
                status=status,
                create_time=now,
                update_time=now,
                sku_ids=[],
            )
            for spec in skus:
                inventory = {wh: 0 for wh in shop.warehouse_ids}
                if "inventory" in spec:
                    for wh, qty in spec["inventory"].items():
                        if str(wh) not in inventory:
                            raise ValueError(f"warehouse {wh} is not one of shop {shop.id}")
                        inventory[str(wh)] = int(qty)
                else:
                    inventory[shop.warehouse_ids[0]] = int(spec.get("quantity", 0))
                sku = Sku(
                    id=str(spec["id"]) if spec.get("id") else self.new_id("sku"),
                    product_id=product.id,
                    seller_sku=spec.get("seller_sku", ""),
                    name=spec.get("name", spec.get("seller_sku", "")),
                    price=_price(spec.get("price", "10.00")),
                    inventory=inventory,
                )
                self.skus[sku.id] = sku
                product.sku_ids.append(sku.id)
            self.products[product.id] = product
            return product_document(self, product)

    def seed_catalog(self, shop_id, *, products: int = 50, skus_per_product: int = 2, quantity: int = 100):
        """A generated catalogue; names and prices depend only on the seed and the shop."""
        rng = random.Random(f"{self.seed}-catalog-{shop_id}")
        created = []
        for n in range(products):
            title = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n + 1}"
            price = f"{rng.choice((9, 12, 14, 18, 22, 26, 32))}.{rng.choice(('00', '50', '99'))}"
            skus = [
                {
                    "seller_sku": f"SB-{n + 1:03d}-{k + 1}",
                    "name": VARIANTS[k % len(VARIANTS)],
                    "price": price,
                    "quantity": quantity,
                }
                for k in range(skus_per_product)
            ]
            created.append(self.add_product(shop_id, title=title, skus=skus))
        return created

    def product_doc(self, product_id) -> dict:
        with self.lock:
            product = self.products.get(str(product_id))
            if product is None:
                raise KeyError(f"unknown product {product_id}")
            return product_document(self, product)

    def set_product_status(self, product_id, status: str, *, notify: bool = True) -> dict:
        if status not in PRODUCT_STATUSES:
            raise ValueError(f"unknown product status {status!r}")
        with self.lock:
            product = self.products[str(product_id)]
            product.status = status
            product.update_time = bump(product.update_time)
            if notify:
                data = {"product_id": product.id, "status": status, "update_time": product.update_time}
                self.emit(product.shop_id, PRODUCT_STATUS_CHANGE, data)
            return product_document(self, product)

    def sku_inventory(self, sku_id) -> dict[str, int]:
        with self.lock:
            return dict(self.skus[str(sku_id)].inventory)

    def _set_sku_stock(self, sku: Sku, warehouse_id: str, quantity: int) -> None:
        """Every stock write passes here so the in/out-of-stock webhook (type 27) is never missed."""
        before = sum(sku.inventory.values())
        sku.inventory[warehouse_id] = quantity
        after = sum(sku.inventory.values())
        if (before > 0) != (after > 0):
            product = self.products[sku.product_id]
            data = {
                "product_id": product.id,
                "sku_id": sku.id,
                "inventory_status": "IN_STOCK" if after > 0 else "OUT_OF_STOCK",
                "total_quantity": after,
                "update_time": int(time.time()),
            }
            self.emit(product.shop_id, INVENTORY_STATUS_CHANGE, data)

    def update_inventory(self, shop_id: str, product_id: str, skus: list) -> list[dict]:
        """`inventory/update`: an absolute set per SKU. Returns the per-SKU errors; the rest apply."""
        errors = []
        with self.lock:
            product = self.products.get(product_id)
            if product is None or product.shop_id != shop_id:
                raise not_found("product")
            warehouses = set(self.shops[shop_id].warehouse_ids)
            changed = False
            for entry in skus:
                sku_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
                inventory = entry.get("inventory") if isinstance(entry, dict) else None
                sku = self.skus.get(sku_id)
                problem = None
                if sku is None or sku.product_id != product.id:
                    problem = (SKU_NOT_IN_PRODUCT, f"sku {sku_id} does not belong to product {product.id}")
                elif not isinstance(inventory, list) or not inventory:
                    problem = (QUANTITY_INVALID, "inventory must be a non-empty list")
                else:
                    for row in inventory:
                        wh = str(row.get("warehouse_id", "")) if isinstance(row, dict) else ""
                        qty = row.get("quantity") if isinstance(row, dict) else None
                        if wh not in warehouses:
                            problem = (WAREHOUSE_UNKNOWN, f"warehouse {wh} not found")
                        elif (
                            isinstance(qty, bool) or not isinstance(qty, int) or not 0 <= qty <= MAX_QUANTITY
                        ):
                            problem = (QUANTITY_INVALID, f"quantity must be an integer 0..{MAX_QUANTITY}")
                        if problem:
                            break
                if problem:
                    errors.append({"code": problem[0], "message": problem[1], "detail": {"sku_id": sku_id}})
                    continue
                for row in inventory:
                    self._set_sku_stock(sku, str(row["warehouse_id"]), row["quantity"])
                changed = True
            if changed:
                product.update_time = bump(product.update_time)
        return errors

    # videos --------------------------------------------------------------------------------------
    def add_video(
        self, shop_id, *, title: str, product_ids=(), views: int = 1000, username="glowlab.official"
    ):
        with self.lock:
            shop = self.shop(shop_id)
            for pid in product_ids:
                if str(pid) not in self.products:
                    raise ValueError(f"unknown product {pid}")
            video = Video(
                id=self.new_id("video"),
                shop_id=shop.id,
                title=title,
                username=username,
                product_ids=[str(p) for p in product_ids],
                post_time=int(time.time()) - 3600,
                views=views,
                likes=views // 12,
                shares=views // 150,
                comments=views // 90,
                clicks=views // 25,
            )
            self.videos[video.id] = video
            return video_summary(self, video)

    def bump_video(self, video_id, **deltas) -> dict:
        """Add to a video's counters: views, likes, shares, comments, clicks."""
        with self.lock:
            video = self.videos[str(video_id)]
            for name, delta in deltas.items():
                if name not in ("views", "likes", "shares", "comments", "clicks"):
                    raise ValueError(f"unknown video metric {name!r}")
                setattr(video, name, getattr(video, name) + int(delta))
            return video_summary(self, video)
