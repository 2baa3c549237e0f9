"""The Open API and auth-host endpoints: request checks in TikTok's order, then the handlers.

`handle_open_api` and `handle_token` take the parsed request and return an `Answer`; the HTTP
plumbing lives in `server.py`. Checks run as TikTok runs them: path, injected faults, app key,
timestamp window, signature, rate limit, access token, shop cipher.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tiktok.signing import api_sign, signatures_match

from .documents import order_document, product_document, video_engagement, video_summary
from .faults import retry_after_header
from .paging import keyset_page, page_size
from .records import ORDER_STATUSES, PRODUCT_STATUSES, SandboxError, not_found

TIMESTAMP_PAST_S = 300
TIMESTAMP_FUTURE_S = 30
MAX_IDS = 50


@dataclass
class Answer:
    http_status: int
    code: int
    message: str = "Success"
    data: dict | None = None
    headers: dict = field(default_factory=dict)
    template: str = ""
    shop_id: str = ""


@dataclass
class Context:
    sandbox: object
    params: dict
    body: dict
    args: dict
    grant: object = None
    shop_id: str = ""

    @property
    def state(self):
        return self.sandbox.state


# handlers ------------------------------------------------------------------------------------------
def authorized_shops(ctx: Context) -> dict:
    state = ctx.state
    with state.lock:
        shops = [state.shops[s] for s in sorted(ctx.grant.shop_ids) if s in state.shops]
        return {
            "shops": [
                {
                    "id": s.id,
                    "name": s.name,
                    "region": s.region,
                    "seller_type": "LOCAL",
                    "cipher": s.cipher,
                    "code": s.code,
                }
                for s in shops
            ]
        }


def _int_filter(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.isdigit())
    ):
        raise SandboxError(36009004, f"{name} must be a Unix timestamp")
    return int(value)


def search_orders(ctx: Context) -> dict:
    body, params = ctx.body, ctx.params
    size = page_size(params)
    sort_field = params.get("sort_field") or "create_time"
    sort_order = (params.get("sort_order") or "DESC").upper()
    if sort_field not in ("create_time", "update_time") or sort_order not in ("ASC", "DESC"):
        raise SandboxError(36009004, "sort_field must be create_time|update_time and sort_order ASC|DESC")
    status = body.get("order_status")
    if status is not None and status not in ORDER_STATUSES:
        raise SandboxError(36009004, f"unknown order_status {status!r}")
    bounds = {
        name: _int_filter(body, name)
        for name in ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt")
    }

    def matches(order) -> bool:
        if status and order.status != status:
            return False
        for name, bound in bounds.items():
            if bound is None:
                continue
            value = getattr(order, name.rsplit("_", 1)[0])
            if (name.endswith("_ge") and value < bound) or (name.endswith("_lt") and value >= bound):
                return False
        return True

    state = ctx.state
    with state.lock:
        rows = [o for o in state.orders.values() if o.shop_id == ctx.shop_id and matches(o)]
        page, token = keyset_page(
            rows,
            key=lambda o: getattr(o, sort_field),
            size=size,
            token=params.get("page_token", ""),
            descending=sort_order == "DESC",
            list="orders",
            sort=f"{sort_field}:{sort_order}",
        )
        return {
            "orders": [order_document(state, o) for o in page],
            "next_page_token": token,
            "total_count": len(rows),
        }


def get_orders(ctx: Context) -> dict:
    ids = [i for i in (ctx.params.get("ids") or "").split(",") if i.strip()]
    if not ids or len(ids) > MAX_IDS:
        raise SandboxError(36009004, f"ids must list 1 to {MAX_IDS} order ids")
    state = ctx.state
    with state.lock:
        found = [state.orders.get(i.strip()) for i in ids]
        return {
            "orders": [order_document(state, o) for o in found if o is not None and o.shop_id == ctx.shop_id]
        }


def search_products(ctx: Context) -> dict:
    size = page_size(ctx.params)
    status = ctx.body.get("status")
    if status is not None and status not in PRODUCT_STATUSES:
        raise SandboxError(36009004, f"unknown status {status!r}")
    since = _int_filter(ctx.body, "update_time_ge")
    until = _int_filter(ctx.body, "update_time_lt")
    state = ctx.state
    with state.lock:
        rows = [
            p
            for p in state.products.values()
            if p.shop_id == ctx.shop_id
            and (status is None or p.status == status)
            and (since is None or p.update_time >= since)
            and (until is None or p.update_time < until)
        ]
        page, token = keyset_page(
            rows, key=lambda p: 0, size=size, token=ctx.params.get("page_token", ""), list="products"
        )
        return {
            "products": [product_document(state, p) for p in page],
            "next_page_token": token,
            "total_count": len(rows),
        }


def get_product(ctx: Context) -> dict:
    state = ctx.state
    with state.lock:
        product = state.products.get(ctx.args["product_id"])
        if product is None or product.shop_id != ctx.shop_id:
            raise not_found("product")
        return product_document(state, product)


def update_inventory(ctx: Context) -> dict:
    skus = ctx.body.get("skus")
    if not isinstance(skus, list) or not skus:
        raise SandboxError(36009004, "skus must be a non-empty list")
    return {"errors": ctx.state.update_inventory(ctx.shop_id, ctx.args["product_id"], skus)}


def shipping_providers(ctx: Context) -> dict:
    providers = ctx.state.provider_ids(ctx.shop_id, ctx.args["delivery_option_id"])
    return {"shipping_providers": [{"id": pid, "name": name} for pid, name in providers]}


def create_package(ctx: Context) -> dict:
    return ctx.state.ship_package(ctx.shop_id, ctx.args["order_id"], ctx.body)


def _date(params: dict, name: str) -> int:
    try:
        return int(datetime.strptime(params.get(name) or "", "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
    except ValueError as exc:
        raise SandboxError(36009004, f"{name} must be a date YYYY-MM-DD") from exc


def video_performance_list(ctx: Context) -> dict:
    start, end = _date(ctx.params, "start_date_ge"), _date(ctx.params, "end_date_lt")
    if end <= start:
        raise SandboxError(36009004, "end_date_lt must be after start_date_ge")
    size = page_size(ctx.params, default=20)
    state = ctx.state
    with state.lock:
        rows = [v for v in state.videos.values() if v.shop_id == ctx.shop_id and v.post_time < end]
        page, token = keyset_page(
            rows, key=lambda v: 0, size=size, token=ctx.params.get("page_token", ""), list="videos"
        )
        return {
            "videos": [video_summary(state, v) for v in page],
            "next_page_token": token,
            "total_count": len(rows),
        }


def video_performance(ctx: Context) -> dict:
    state = ctx.state
    with state.lock:
        video = state.videos.get(ctx.args["video_id"])
        if video is None or video.shop_id != ctx.shop_id:
            raise not_found("video")
        return video_engagement(video)


# (method, path template, handler, shop-scoped)
ROUTES = [
    ("GET", "/authorization/202309/shops", authorized_shops, False),
    ("POST", "/order/202309/orders/search", search_orders, True),
    ("GET", "/order/202309/orders", get_orders, True),
    ("POST", "/product/202309/products/search", search_products, True),
    ("GET", "/product/202309/products/{product_id}", get_product, True),
    ("POST", "/product/202309/products/{product_id}/inventory/update", update_inventory, True),
    (
        "GET",
        "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers",
        shipping_providers,
        True,
    ),
    ("POST", "/fulfillment/202309/orders/{order_id}/packages", create_package, True),
    ("GET", "/analytics/202409/shop_videos/performance", video_performance_list, True),
    ("GET", "/analytics/202409/shop_videos/{video_id}/performance", video_performance, True),
]
_COMPILED = [
    (
        method,
        template,
        re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"),
        handler,
        scoped,
    )
    for method, template, handler, scoped in ROUTES
]


def match_route(method: str, path: str):
    """(template, handler, scoped, args) for a known path; raises 36009004 (404/405) otherwise."""
    known = False
    for route_method, template, pattern, handler, scoped in _COMPILED:
        found = pattern.match(path)
        if found:
            known = True
            if route_method == method:
                return template, handler, scoped, found.groupdict()
    if known:
        raise SandboxError(36009004, f"method {method} not allowed", 405)
    raise SandboxError(36009004, f"path {path} not found", 404)


# the pipeline --------------------------------------------------------------------------------------
def fault_answer(sandbox) -> Answer | None:
    """An injected failure for this call, after the injected latency."""
    faults = sandbox.faults
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    failure = faults.take()
    if failure == "5xx":
        return Answer(500, 36009003, "internal error (injected)")
    if failure == "error":
        return Answer(503, 36009003, "service unavailable (injected)")
    if failure == "429":
        return Answer(429, 36009002, "too many requests (injected)", headers={"Retry-After": "1"})
    return None


def _check_signature(sandbox, path: str, params: dict, raw_body: bytes) -> None:
    if params.get("app_key") != sandbox.app_key:
        raise SandboxError(36009004, "invalid app_key", 401)
    try:
        stamp = int(params.get("timestamp", ""))
    except ValueError as exc:
        raise SandboxError(36009004, "invalid timestamp", 400) from exc
    now = int(time.time())
    if not now - TIMESTAMP_PAST_S <= stamp <= now + TIMESTAMP_FUTURE_S:
        raise SandboxError(36009004, "timestamp is outside the accepted window", 400)
    expected = api_sign(app_secret=sandbox.app_secret, path=path, params=params, body=raw_body)
    if not signatures_match(expected, params.get("sign")):
        raise SandboxError(106001, "invalid sign", 401)


def handle_open_api(
    sandbox, method: str, path: str, params: dict, headers, raw_body: bytes, parse_json
) -> Answer:
    template = ""
    shop_id = sandbox.state.ciphers.get(params.get("shop_cipher", ""), "")
    try:
        template, handler, scoped, args = match_route(method, path)
        injected = fault_answer(sandbox)
        if injected is not None:
            injected.template, injected.shop_id = template, shop_id
            return injected
        _check_signature(sandbox, path, params, raw_body)
        wait = sandbox.limiter.acquire((sandbox.app_key, params.get("shop_cipher", ""), template))
        if wait:
            return Answer(
                429,
                36009002,
                "too many requests",
                headers={"Retry-After": retry_after_header(wait)},
                template=template,
                shop_id=shop_id,
            )
        grant = sandbox.state.check_token(headers.get("x-tts-access-token"))
        if scoped:
            cipher = params.get("shop_cipher")
            if not cipher:
                raise SandboxError(106013, "shop_cipher is required", 400)
            if not shop_id or shop_id not in grant.shop_ids:
                raise SandboxError(36009004, "shop_cipher is not authorised for this access token", 403)
        body = parse_json(raw_body) if method == "POST" else {}
        data = handler(
            Context(sandbox=sandbox, params=params, body=body, args=args, grant=grant, shop_id=shop_id)
        )
        return Answer(200, 0, data=data, template=template, shop_id=shop_id)
    except SandboxError as exc:
        return Answer(exc.http_status, exc.code, exc.message, template=template, shop_id=shop_id)


def handle_token(sandbox, path: str, params: dict) -> Answer:
    """The auth host: GET, unsigned, app key and secret in the query."""
    template = path
    try:
        if path not in ("/api/v2/token/get", "/api/v2/token/refresh"):
            raise SandboxError(36009004, f"path {path} not found", 404)
        injected = fault_answer(sandbox)
        if injected is not None:
            injected.template = template
            return injected
        if params.get("app_key") != sandbox.app_key or not signatures_match(
            sandbox.app_secret, params.get("app_secret")
        ):
            raise SandboxError(36009004, "invalid app_key or app_secret", 400)
        if path.endswith("/get"):
            if params.get("grant_type") != "authorized_code":
                raise SandboxError(36009004, "grant_type must be authorized_code", 400)
            data = sandbox.state.exchange_code(params.get("auth_code", ""))
        else:
            if params.get("grant_type") != "refresh_token":
                raise SandboxError(36009004, "grant_type must be refresh_token", 400)
            data = sandbox.state.refresh(params.get("refresh_token", ""))
        return Answer(200, 0, data=data, template=template)
    except SandboxError as exc:
        return Answer(exc.http_status, exc.code, exc.message, template=template)
