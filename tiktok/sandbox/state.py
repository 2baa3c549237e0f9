"""The sandbox's shop state: sellers and their grants, shops, products/SKUs with stock per warehouse,
orders with one-unit line items and packages, and videos with their metrics.

Everything sits behind one lock (`SandboxState.lock`). Mutations that TikTok would announce call
`emit(shop_id, type, data)`, which only puts a message on the webhook sender's queue, so no network
call or sleep ever happens under the lock.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable

from .catalog import CatalogMixin
from .order_book import OrderBookMixin
from .records import (
    AUTH_CODE_TTL,
    ID_BASES,
    REFRESH_TTL,
    SELLER_DEAUTHORIZATION,
    UPCOMING_AUTHORIZATION_EXPIRATION,
    Grant,
    Order,
    Product,
    SandboxError,
    Seller,
    Shop,
    Sku,
    Video,
)


class SandboxState(CatalogMixin, OrderBookMixin):
    """All shop data of one sandbox. Public methods take the lock themselves."""

    def __init__(self, *, seed: int, token_ttl: int, emit: Callable[[str, int, dict], None]):
        self.lock = threading.RLock()
        self.seed = seed
        self.token_ttl = token_ttl
        self.emit = emit
        self._rng = random.Random(seed)
        self._counters = {kind: 0 for kind in ID_BASES}
        self.sellers: dict[str, Seller] = {}
        self.shops: dict[str, Shop] = {}
        self.ciphers: dict[str, str] = {}  # cipher -> shop id
        self.products: dict[str, Product] = {}
        self.skus: dict[str, Sku] = {}
        self.orders: dict[str, Order] = {}
        self.videos: dict[str, Video] = {}
        self.grants_by_access: dict[str, Grant] = {}
        self.grants_by_refresh: dict[str, Grant] = {}
        self.auth_codes: dict[str, tuple[str, frozenset[str], int]] = {}  # code -> seller, shops, expiry

    # ids -------------------------------------------------------------------------------------
    def new_id(self, kind: str) -> str:
        """Increasing ids with random gaps: unique, 18–19 digits like TikTok's, seeded."""
        with self.lock:
            self._counters[kind] += self._rng.randrange(1, 9_000_000)
            return str(ID_BASES[kind] + self._counters[kind])

    def _cipher(self) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "ROW_" + "".join(self._rng.choices(alphabet, k=28))

    # sellers, shops and grants -----------------------------------------------------------------
    def add_shop(
        self, *, name, region, seller, shop_id=None, cipher=None, warehouse_ids=None, delivery_options=None
    ) -> dict:
        with self.lock:
            if seller not in self.sellers:
                self.sellers[seller] = Seller(
                    key=seller,
                    open_id=f"openid-{seller}",
                    name=seller.replace("-", " ").title(),
                    region=region,
                )
            shop_id = str(shop_id) if shop_id else self.new_id("shop")
            if shop_id in self.shops:
                raise ValueError(f"shop {shop_id} exists")
            cipher = cipher or self._cipher()
            warehouses = (
                list(warehouse_ids) if warehouse_ids else [self.new_id("warehouse") for _ in range(2)]
            )
            options = (
                {str(k): str(v) for k, v in delivery_options.items()}
                if delivery_options
                else {
                    self.new_id("delivery_option"): "Standard shipping",
                    self.new_id("delivery_option"): "Express",
                }
            )
            shop = Shop(
                id=shop_id,
                cipher=cipher,
                name=name,
                region=region,
                seller=seller,
                code=f"{region}LC{shop_id[-6:]}",
                warehouse_ids=warehouses,
                delivery_options=options,
            )
            self.shops[shop_id] = shop
            self.ciphers[cipher] = shop_id
            self.sellers[seller].shop_ids.append(shop_id)
            return shop.public()

    def shop(self, shop_id: str) -> Shop:
        shop = self.shops.get(str(shop_id))
        if shop is None:
            raise KeyError(f"unknown shop {shop_id}")
        return shop

    def default_seller(self) -> str | None:
        with self.lock:
            return next(iter(self.sellers), None)

    def issue_auth_code(self, shop_ids=None, seller: str | None = None) -> str:
        """A one-time code as if the seller had clicked Authorize on the consent page."""
        with self.lock:
            if shop_ids:
                shops = [self.shop(s) for s in shop_ids]
                sellers = {s.seller for s in shops}
                if len(sellers) != 1:
                    raise ValueError("an authorization covers the shops of one seller")
                seller = sellers.pop()
                ids = frozenset(s.id for s in shops)
            else:
                seller = seller or self.default_seller()
                if seller not in self.sellers:
                    raise ValueError("no seller to authorize: add a shop first")
                ids = frozenset(self.sellers[seller].shop_ids)
            code = "TTP_code_" + secrets.token_urlsafe(18)
            self.auth_codes[code] = (seller, ids, int(time.time()) + AUTH_CODE_TTL)
            return code

    def _grant(self, seller: str, shop_ids: frozenset[str], *, access=None, refresh=None, ttl=None) -> Grant:
        now = int(time.time())
        grant = Grant(
            seller=seller,
            shop_ids=shop_ids,
            access_token=access or "TTP_" + secrets.token_urlsafe(24),
            refresh_token=refresh or "TTP_r_" + secrets.token_urlsafe(24),
            access_expires=now + (ttl or self.token_ttl),
            refresh_expires=now + max(REFRESH_TTL, ttl or 0),
        )
        self.grants_by_access[grant.access_token] = grant
        self.grants_by_refresh[grant.refresh_token] = grant
        return grant

    def token_payload(self, grant: Grant) -> dict:
        seller = self.sellers[grant.seller]
        return {
            "access_token": grant.access_token,
            "access_token_expire_in": grant.access_expires,
            "refresh_token": grant.refresh_token,
            "refresh_token_expire_in": grant.refresh_expires,
            "open_id": seller.open_id,
            "seller_name": seller.name,
            "seller_base_region": seller.region,
            "user_type": 0,
            "granted_scopes": ["seller.order.info", "seller.product.basic", "seller.fulfillment.basic"],
        }

    def exchange_code(self, code: str) -> dict:
        with self.lock:
            entry = self.auth_codes.pop(code, None)  # a code works once, even when it fails late
            if entry is None or entry[2] < int(time.time()):
                raise SandboxError(36009004, "invalid or expired auth_code", 400)
            return self.token_payload(self._grant(entry[0], entry[1]))

    def refresh(self, refresh_token: str) -> dict:
        with self.lock:
            old = self.grants_by_refresh.pop(refresh_token, None)
            if old is None or old.refresh_expires < int(time.time()):
                raise SandboxError(36009004, "invalid or expired refresh_token", 400)
            self.grants_by_access.pop(old.access_token, None)
            return self.token_payload(self._grant(old.seller, old.shop_ids))

    def tokens_for(self, shop_id: str) -> dict:
        with self.lock:
            shop = self.shop(shop_id)
            grant = self._grant(shop.seller, frozenset(self.sellers[shop.seller].shop_ids))
            return {"access_token": grant.access_token, "refresh_token": grant.refresh_token}

    def register_tokens(self, shop_id: str, *, access_token: str, refresh_token: str, ttl: int) -> None:
        with self.lock:
            shop = self.shop(shop_id)
            self._grant(
                shop.seller,
                frozenset(self.sellers[shop.seller].shop_ids),
                access=access_token,
                refresh=refresh_token,
                ttl=ttl,
            )

    def expire_access_tokens(self) -> int:
        with self.lock:
            past = int(time.time()) - 1
            for grant in self.grants_by_access.values():
                grant.access_expires = past
            return len(self.grants_by_access)

    def check_token(self, token: str | None) -> Grant:
        with self.lock:
            grant = self.grants_by_access.get(token or "")
            if grant is None:
                raise SandboxError(36009004, "invalid access token", 401)
            if grant.access_expires <= int(time.time()):
                raise SandboxError(105002, "access token expired", 401)
            return grant

    def deauthorize(self, shop_id: str) -> None:
        """The seller removed our app: its grants stop working and TikTok says so (type 6)."""
        with self.lock:
            shop = self.shop(shop_id)
            for grant in [g for g in self.grants_by_access.values() if shop.id in g.shop_ids]:
                self.grants_by_access.pop(grant.access_token, None)
                self.grants_by_refresh.pop(grant.refresh_token, None)
            self.emit(shop.id, SELLER_DEAUTHORIZATION, {"shop_id": shop.id, "update_time": int(time.time())})

    def warn_authorization_expiry(self, shop_id: str, *, days_left: int = 7) -> None:
        with self.lock:
            shop = self.shop(shop_id)
            expire = int(time.time()) + days_left * 86400
            self.emit(shop.id, UPCOMING_AUTHORIZATION_EXPIRATION, {"shop_id": shop.id, "expire_time": expire})
