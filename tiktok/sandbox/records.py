"""Plain records and constants of the sandbox's shop state (no behaviour beyond small helpers)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

ORDER_STATUSES = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)
PRODUCT_STATUSES = (
    "DRAFT",
    "PENDING",
    "FAILED",
    "ACTIVATE",
    "SELLER_DEACTIVATED",
    "PLATFORM_DEACTIVATED",
    "FREEZE",
    "DELETED",
)
SHIPPING_PROVIDERS = (  # TikTok's provider ids are global; every delivery option offers these four
    ("7117858858072016686", "USPS"),
    ("7117859084333745966", "UPS"),
    ("7129736293257611054", "FedEx"),
    ("7212608507307099950", "DHL eCommerce"),
)
AUTH_CODE_TTL = 600
REFRESH_TTL = 30 * 86400
COLLECTED_AFTER = 3600  # seconds of transit clock from AWAITING_COLLECTION to IN_TRANSIT
DELIVERED_AFTER = 2 * 86400  # ... and to DELIVERED

# Webhook types (CONTRACT §4)
ORDER_STATUS_CHANGE = 1
RECIPIENT_ADDRESS_UPDATE = 3
PRODUCT_STATUS_CHANGE = 5
SELLER_DEAUTHORIZATION = 6
UPCOMING_AUTHORIZATION_EXPIRATION = 7
CANCELLATION_STATUS_CHANGE = 11
INVENTORY_STATUS_CHANGE = 27

ID_BASES = {
    "shop": 7_494_000_000_000_000_000,
    "warehouse": 7_068_000_000_000_000_000,
    "delivery_option": 7_091_000_000_000_000_000,
    "product": 1_729_500_000_000_000_000,
    "sku": 1_729_600_000_000_000_000,
    "order": 576_400_000_000_000_000,
    "line_item": 577_100_000_000_000_000,
    "package": 1_153_000_000_000_000_000,
    "video": 7_380_000_000_000_000_000,
}
FIRST_NAMES = ("Jamie", "Priya", "Marcus", "Sofia", "Aaliyah", "Ethan", "Mei", "Olivia", "Diego", "Hannah")
LAST_NAMES = ("Rivera", "Natarajan", "Johnson", "Garcia", "Nguyen", "Chen", "Lopez", "Kim", "Patel", "Davis")
ADDRESSES = (
    ("1200 Market St", "San Francisco", "California", "CA", "94103"),
    ("455 W 34th St", "New York", "New York", "NY", "10001"),
    ("2100 Ross Ave", "Dallas", "Texas", "TX", "75201"),
    ("77 W Wacker Dr", "Chicago", "Illinois", "IL", "60601"),
    ("400 Pine St", "Seattle", "Washington", "WA", "98101"),
)


class SandboxError(Exception):
    """A request the sandbox refuses: carries TikTok's code, message and the HTTP status to answer."""

    def __init__(self, code: int, message: str, http_status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


def not_found(what: str) -> SandboxError:
    return SandboxError(36009004, f"{what} not found", 404)


@dataclass
class Seller:
    key: str
    open_id: str
    name: str
    region: str
    shop_ids: list[str] = field(default_factory=list)


@dataclass
class Grant:
    """One OAuth grant: the token pair a seller gave our app for some of its shops."""

    seller: str
    shop_ids: frozenset[str]
    access_token: str
    refresh_token: str
    access_expires: int
    refresh_expires: int


@dataclass
class Shop:
    id: str
    cipher: str
    name: str
    region: str
    seller: str
    code: str
    warehouse_ids: list[str]
    delivery_options: dict[str, str]  # id -> name; the first is the default

    def public(self) -> dict:
        return {
            "id": self.id,
            "cipher": self.cipher,
            "name": self.name,
            "region": self.region,
            "seller": self.seller,
            "code": self.code,
            "warehouse_ids": list(self.warehouse_ids),
            "delivery_option_ids": list(self.delivery_options),
        }


@dataclass
class Sku:
    id: str
    product_id: str
    seller_sku: str
    name: str
    price: Decimal
    inventory: dict[str, int]


@dataclass
class Product:
    id: str
    shop_id: str
    title: str
    status: str
    create_time: int
    update_time: int
    sku_ids: list[str]


@dataclass
class LineItem:
    id: str
    sku_id: str
    product_id: str
    product_name: str
    sku_name: str
    seller_sku: str
    price: Decimal
    package_id: str = ""
    is_gift: bool = False


@dataclass
class Order:
    id: str
    shop_id: str
    status: str
    create_time: int
    update_time: int
    paid_time: int
    items: list[LineItem]
    buyer_name: str
    buyer_email: str
    buyer_message: str
    phone: str
    address: tuple[str, str, str, str, str]
    delivery_option_id: str
    delivery_option_name: str
    warehouse_id: str
    is_sample: bool = False
    tracking_number: str = ""
    shipping_provider_id: str = ""
    packages: list[str] = field(default_factory=list)
    transit_clock: int = 0
    cancel_reason: str = ""


@dataclass
class Video:
    id: str
    shop_id: str
    title: str
    username: str
    product_ids: list[str]
    post_time: int
    views: int = 0
    likes: int = 0
    shares: int = 0
    comments: int = 0
    clicks: int = 0
    sku_orders: int = 0
    units_sold: int = 0
    gmv: Decimal = Decimal("0.00")


def bump(old: int) -> int:
    """A new update_time: now, but always strictly after the previous one."""
    return max(int(time.time()), old + 1)
