"""Orders: creation (stock goes down), status changes, packages and the trip to DELIVERED.

A mixin of `SandboxState`. Every change bumps the order's `update_time` strictly and, where TikTok
would, announces itself with a webhook, so our sync sees the same stream it would in production.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

from .documents import order_document
from .records import (
    ADDRESSES,
    CANCELLATION_STATUS_CHANGE,
    COLLECTED_AFTER,
    DELIVERED_AFTER,
    FIRST_NAMES,
    LAST_NAMES,
    ORDER_STATUS_CHANGE,
    ORDER_STATUSES,
    RECIPIENT_ADDRESS_UPDATE,
    SHIPPING_PROVIDERS,
    LineItem,
    Order,
    SandboxError,
    bump,
    not_found,
)

UNSHIPPABLE = ("UNPAID", "ON_HOLD", "CANCELLED")
SHIPPED = ("AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED")
INVALID_PROVIDER = 21011001
INVALID_TRACKING = 21011002
ALREADY_SHIPPED = 21011003
NOT_SHIPPABLE = 21011004


class OrderBookMixin:
    def create_order(
        self,
        shop_id,
        items,
        *,
        status: str = "AWAITING_SHIPMENT",
        notify: bool = True,
        video_id=None,
        is_sample: bool = False,
        buyer_message: str = "",
        delivery_option_id=None,
    ) -> dict:
        """A buyer places an order: `items` is [(sku_id, units)] or [{"sku_id", "units"}]; each unit
        becomes one line item. Stock is taken from the warehouse that holds most of the first SKU
        (never below zero: the sandbox does not refuse a test's order)."""
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown order status {status!r}")
        lines = []
        for entry in items:
            sku_id, units = (entry["sku_id"], entry.get("units", 1)) if isinstance(entry, dict) else entry
            if isinstance(units, bool) or not isinstance(units, int) or units < 1:
                raise ValueError("units must be a positive integer")
            lines.append((str(sku_id), units))
        if not lines:
            raise ValueError("an order needs at least one item")
        with self.lock:
            shop = self.shop(shop_id)
            for sku_id, _ in lines:
                sku = self.skus.get(sku_id)
                if sku is None or self.products[sku.product_id].shop_id != shop.id:
                    raise ValueError(f"sku {sku_id} is not sold by shop {shop.id}")
            first = self.skus[lines[0][0]]
            warehouse = max(shop.warehouse_ids, key=lambda wh: first.inventory.get(wh, 0))
            option_id = str(delivery_option_id) if delivery_option_id else next(iter(shop.delivery_options))
            if option_id not in shop.delivery_options:
                raise ValueError(f"unknown delivery option {option_id}")
            order_id = self.new_id("order")
            rng = random.Random(order_id)
            now = int(time.time())
            order = Order(
                id=order_id,
                shop_id=shop.id,
                status=status,
                create_time=now,
                update_time=now,
                paid_time=0 if status == "UNPAID" else now,
                items=[],
                buyer_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                buyer_email=f"{order_id[-8:]}buyer@scs.tiktokw.us",
                buyer_message=buyer_message,
                phone=f"(+1)213*****{rng.randrange(10, 99)}",
                address=rng.choice(ADDRESSES),
                delivery_option_id=option_id,
                delivery_option_name=shop.delivery_options[option_id],
                warehouse_id=warehouse,
                is_sample=is_sample,
            )
            for sku_id, units in lines:
                sku = self.skus[sku_id]
                product = self.products[sku.product_id]
                for _ in range(units):
                    order.items.append(
                        LineItem(
                            id=self.new_id("line_item"),
                            sku_id=sku.id,
                            product_id=product.id,
                            product_name=product.title,
                            sku_name=sku.name,
                            seller_sku=sku.seller_sku,
                            price=sku.price,
                        )
                    )
                self._take_stock(sku, warehouse, units)
                self._credit_video(video_id, sku, units)
            self.orders[order.id] = order
            if notify:
                self._announce(order)
            return order_document(self, order)

    def import_order(self, shop_id, document: dict, *, address, buyer: str) -> dict:
        """Put an order TikTok already had into the book, as given (no stock taken, no webhook): the
        demo's seeded orders, so the sandbox knows exactly the orders our database was seeded with.
        `document` is the order as TikTok's API returns it (ids, status, times, one line item per
        unit, the delivery option); `address` is (line1, city, state name, state code, postal code),
        which the document masks while the order is unpaid or on hold."""
        status = str(document["status"])
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown order status {status!r}")
        with self.lock:
            shop = self.shop(shop_id)
            option_id = str(document.get("delivery_option_id") or "")
            if option_id not in shop.delivery_options:
                raise ValueError(f"unknown delivery option {option_id}")
            order_id = str(document["id"])
            if order_id in self.orders:
                raise ValueError(f"order {order_id} exists")
            order = Order(
                id=order_id,
                shop_id=shop.id,
                status=status,
                create_time=int(document["create_time"]),
                update_time=int(document["update_time"]),
                paid_time=int(document.get("paid_time") or 0),
                items=[
                    LineItem(
                        id=str(item["id"]),
                        sku_id=str(item["sku_id"]),
                        product_id=str(item["product_id"]),
                        product_name=str(item["product_name"]),
                        sku_name=str(item.get("sku_name") or ""),
                        seller_sku=str(item.get("seller_sku") or ""),
                        price=Decimal(str(item["sale_price"])),
                    )
                    for item in document.get("line_items") or []
                ],
                buyer_name=buyer,
                buyer_email=str(document.get("buyer_email") or ""),
                buyer_message=str(document.get("buyer_message") or ""),
                phone="(+1)555*****42",
                address=tuple(address),
                delivery_option_id=option_id,
                delivery_option_name=shop.delivery_options[option_id],
                warehouse_id=str(document.get("warehouse_id") or shop.warehouse_ids[0]),
                is_sample=bool(document.get("is_sample_order")),
            )
            if status in SHIPPED:
                # shipped before the sandbox started: one package for every line, collected already
                package = self.new_id("package")
                for item in order.items:
                    item.package_id = package
                order.packages.append(package)
            self.orders[order.id] = order
            return order_document(self, order)

    def _take_stock(self, sku, warehouse: str, units: int) -> None:
        for wh in [warehouse, *[w for w in sku.inventory if w != warehouse]]:
            take = min(units, sku.inventory.get(wh, 0))
            if take:
                self._set_sku_stock(sku, wh, sku.inventory[wh] - take)
                units -= take
            if not units:
                return

    def _credit_video(self, video_id, sku, units: int) -> None:
        video = self.videos.get(str(video_id)) if video_id else None
        if video is not None:
            video.sku_orders += 1
            video.units_sold += units
            video.gmv += sku.price * units

    def _announce(self, order: Order) -> None:
        data = {
            "order_id": order.id,
            "order_status": order.status,
            "is_on_hold_order": order.status == "ON_HOLD",
            "update_time": order.update_time,
        }
        self.emit(order.shop_id, ORDER_STATUS_CHANGE, data)

    def _order(self, shop_id, order_id) -> Order:
        order = self.orders.get(str(order_id))
        if order is None or order.shop_id != str(shop_id):
            raise not_found("order")
        return order

    def set_order_status(
        self, shop_id, order_id, status: str, *, notify: bool = True, reason: str = ""
    ) -> dict:
        """Move an order as TikTok or the buyer would (pay, release hold, cancel, complete ...)."""
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown order status {status!r}")
        with self.lock:
            order = self._order(shop_id, order_id)
            self._move(order, status, notify=notify)
            if status == "CANCELLED":
                order.cancel_reason = reason or "Buyer cancelled"
                self._restock(order)
                if notify:
                    data = {
                        "order_id": order.id,
                        "cancellation_status": "CANCELLED",
                        "update_time": order.update_time,
                    }
                    self.emit(order.shop_id, CANCELLATION_STATUS_CHANGE, data)
            return order_document(self, order)

    def _move(self, order: Order, status: str, *, notify: bool) -> None:
        order.status = status
        if status not in ("UNPAID", "CANCELLED") and not order.paid_time:
            order.paid_time = int(time.time())
        order.update_time = bump(order.update_time)
        if notify:
            self._announce(order)

    def _restock(self, order: Order) -> None:
        for item in order.items:
            if not item.package_id:
                sku = self.skus.get(item.sku_id)
                if sku is not None:
                    self._set_sku_stock(sku, order.warehouse_id, sku.inventory.get(order.warehouse_id, 0) + 1)

    def update_recipient_address(self, shop_id, order_id, *, notify: bool = True) -> dict:
        """The buyer changed the address (webhook type 3)."""
        with self.lock:
            order = self._order(shop_id, order_id)
            order.address = ADDRESSES[(ADDRESSES.index(order.address) + 1) % len(ADDRESSES)]
            order.update_time = bump(order.update_time)
            if notify:
                data = {"order_id": order.id, "update_time": order.update_time}
                self.emit(order.shop_id, RECIPIENT_ADDRESS_UPDATE, data)
            return order_document(self, order)

    def get_order(self, order_id) -> dict:
        with self.lock:
            order = self.orders.get(str(order_id))
            if order is None:
                raise KeyError(f"unknown order {order_id}")
            return order_document(self, order)

    def orders_of(self, shop_id) -> list[dict]:
        with self.lock:
            rows = sorted(
                (o for o in self.orders.values() if o.shop_id == str(shop_id)), key=lambda o: int(o.id)
            )
            return [order_document(self, o) for o in rows]

    def provider_ids(self, shop_id: str, option_id: str) -> list[tuple[str, str]]:
        with self.lock:
            if option_id not in self.shop(shop_id).delivery_options:
                raise not_found("delivery option")
            return list(SHIPPING_PROVIDERS)

    def ship_package(self, shop_id: str, order_id: str, body: dict) -> dict:
        """`POST /fulfillment/202309/orders/{order_id}/packages`."""
        tracking = body.get("tracking_number")
        provider = str(body.get("shipping_provider_id") or "")
        wanted = body.get("order_line_item_ids")
        if wanted is not None and (not isinstance(wanted, list) or not wanted):
            raise SandboxError(36009004, "order_line_item_ids must be a non-empty list")
        with self.lock:
            order = self._order(shop_id, order_id)
            if order.status in UNSHIPPABLE:
                raise SandboxError(NOT_SHIPPABLE, f"order status {order.status} cannot be shipped", 200)
            open_items = [item for item in order.items if not item.package_id]
            if not open_items or order.status in SHIPPED:
                raise SandboxError(ALREADY_SHIPPED, "package already shipped", 200)
            if not isinstance(tracking, str) or not tracking.strip() or "INVALID" in tracking:
                raise SandboxError(INVALID_TRACKING, "tracking number is invalid", 200)
            if provider not in dict(SHIPPING_PROVIDERS):
                raise SandboxError(
                    INVALID_PROVIDER, "invalid shipping provider for this delivery option", 200
                )
            if wanted is None:
                chosen = open_items
            else:
                by_id = {item.id: item for item in order.items}
                chosen = []
                for raw in wanted:
                    item = by_id.get(str(raw))
                    if item is None:
                        raise SandboxError(36009004, f"line item {raw} not found in order")
                    if item.package_id:
                        raise SandboxError(ALREADY_SHIPPED, "package already shipped", 200)
                    if item not in chosen:
                        chosen.append(item)
            package_id = self.new_id("package")
            for item in chosen:
                item.package_id = package_id
            order.packages.append(package_id)
            order.tracking_number = tracking.strip()
            order.shipping_provider_id = provider
            everything = all(item.package_id for item in order.items)
            self._move(order, "AWAITING_COLLECTION" if everything else "PARTIALLY_SHIPPING", notify=True)
            return {
                "order_id": order.id,
                "package_id": package_id,
                "order_line_item_ids": [i.id for i in chosen],
            }

    def advance_shipped(self, seconds: int) -> int:
        """Run the carrier's clock: collected after an hour, delivered after two days. Returns moves."""
        moves = 0
        with self.lock:
            for order in self.orders.values():
                if order.status not in ("AWAITING_COLLECTION", "IN_TRANSIT"):
                    continue
                order.transit_clock += int(seconds)
                if order.status == "AWAITING_COLLECTION" and order.transit_clock >= COLLECTED_AFTER:
                    self._move(order, "IN_TRANSIT", notify=True)
                    moves += 1
                if order.status == "IN_TRANSIT" and order.transit_clock >= DELIVERED_AFTER:
                    self._move(order, "DELIVERED", notify=True)
                    moves += 1
        return moves
