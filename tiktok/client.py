"""The one TikTok Shop client: every call our code makes to TikTok goes through `TikTokClient`.

Per call, in this order:
1. the circuit breaker "tiktok" (5 failures → open 60 s) is asked first: open → `CircuitOpenError`
   without touching the network;
2. a place in the shared sliding window for (app, shop, path template) is taken: at most 50
   requests in any one second across every worker (Redis in production);
3. an access token about to expire is refreshed first (`tokens.authorization_refresh`, one refresh
   for all workers);
4. the request is signed (`wire.prepare_call`) and sent with a timeout;
5. the answer is read on its envelope `code`; 105002 refreshes the token and retries once;
   429 / 5xx / 36009003 / timeouts retry with jittered exponential backoff (Retry-After honoured)
   up to `RETRY.max_attempts` (a timeout only once: read timeouts are single seconds), then raise;
6. every attempt is recorded as an `ApiCall` row (path, code, request id, latency).

Never call it inside a database transaction or while holding a lock: it may sleep and it waits on
the network.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import requests
from django.conf import settings

from creatorflow.resilience.circuit import CircuitOpenError, get_breaker
from creatorflow.resilience.ratelimit import RateLimited, WindowLimiter
from creatorflow.resilience.retry import RetryPolicy

from . import wire
from .wire import (
    Answer,
    RateLimitedError,
    ServerError,
    TikTokError,
    TokenExpiredError,
    TransportError,
    path_template,
)

logger = logging.getLogger(__name__)

BREAKER = "tiktok"
# TikTok's limit: 50 requests in any one second per API path and shop (no burst above it). Our
# window is a little longer than TikTok's second: a request reaches TikTok some milliseconds after
# its grant, and that delay varies, so grants 1.0 s apart could arrive closer than a second.
RATE_PER_S = 50
RATE_WINDOW_S = 1.1
# Short, in-call retries: a task that still fails is retried by its own policy later.
RETRY = RetryPolicy(max_attempts=4, base_seconds=0.5, cap_seconds=8.0)
# A Retry-After longer than this is not slept through in a worker: the error goes to the caller.
MAX_INLINE_WAIT = 10.0
# Connect, read. TikTok answers in well under a second when it is well; a read that takes longer
# than a few seconds means it is hanging, and a worker waiting 20 s per try blocks its queue.
# The read timeout can be set with TIKTOK_READ_TIMEOUT_S.
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 6.0
# A timeout is retried inline once at most: a hanging TikTok must open the breaker and free the
# worker quickly (the task's own retry, later, honours the breaker), not hold it for every attempt.
MAX_INLINE_TIMEOUTS = 1
ORDER_IDS_PER_CALL = 50

_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per thread (requests.Session is not safe to share across threads)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    open_id: str
    seller_name: str
    seller_base_region: str
    user_type: int


def _aware(ts) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=UTC)


def _grant(data: dict) -> TokenGrant:
    try:
        return TokenGrant(
            access_token=str(data["access_token"]),
            access_token_expires_at=_aware(data["access_token_expire_in"]),
            refresh_token=str(data["refresh_token"]),
            refresh_token_expires_at=_aware(data["refresh_token_expire_in"]),
            open_id=str(data.get("open_id") or ""),
            seller_name=str(data.get("seller_name") or ""),
            seller_base_region=str(data.get("seller_base_region") or ""),
            user_type=int(data.get("user_type") or 0),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TransportError(f"token answer lacks {exc}") from exc


def _record(
    *, shop_pk, method: str, template: str, code, http_status, request_id: str, started: float, error=""
):
    from .models import ApiCall

    try:
        ApiCall.objects.create(
            shop_id=shop_pk,
            method=method,
            path=template[:200],
            code=code,
            http_status=http_status,
            request_id=(request_id or "")[:100],
            latency_ms=max(0, int((time.monotonic() - started) * 1000)),
            error=str(error)[:300],
        )
    except Exception:  # the record is for people; losing one must never fail the call itself
        logger.warning("tiktok: could not record an API call", exc_info=True)


def _timeout() -> tuple[float, float]:
    return CONNECT_TIMEOUT, float(getattr(settings, "TIKTOK_READ_TIMEOUT_S", READ_TIMEOUT))


def _send(method: str, url: str, *, headers=None, body: bytes = b"") -> tuple[int, dict, bytes]:
    try:
        response = _session().request(method, url, headers=headers, data=body or None, timeout=_timeout())
    except requests.Timeout as exc:
        raise wire.TransportTimeout(f"TikTok did not answer in time ({type(exc).__name__})") from exc
    except requests.RequestException as exc:
        raise TransportError(f"could not reach TikTok ({type(exc).__name__})") from exc
    return response.status_code, dict(response.headers), response.content


# --- the auth host: unsigned GETs with the app's key and secret -------------------------------


def _auth_call(path: str, params: dict) -> TokenGrant:
    query = {"app_key": settings.TIKTOK_APP_KEY, "app_secret": settings.TIKTOK_APP_SECRET, **params}
    url = settings.TIKTOK_AUTH_BASE_URL.rstrip("/") + path
    started = time.monotonic()
    code = status = None
    request_id = error = ""
    breaker = get_breaker(BREAKER)
    if not breaker.allow():
        raise breaker.reject()
    try:
        status, headers, body = _send("GET", f"{url}?{urlencode(query)}")
        answer = wire.parse_answer(http_status=status, headers=headers, body=body)
        code, request_id = answer.code, answer.request_id
        breaker.record_success()
        return _grant(answer.data)
    except TikTokError as exc:
        code, status, request_id, error = exc.code, exc.http_status or status, exc.request_id, exc
        (breaker.record_failure if exc.retryable else breaker.record_success)()
        raise
    finally:
        _record(shop_pk=None, method="GET", template=path, code=code, http_status=status,
                request_id=request_id, started=started, error=error)  # fmt: skip


def token_get(auth_code: str) -> TokenGrant:
    """Exchange an authorisation code (OAuth callback) for the seller's token pair."""
    return _auth_call("/api/v2/token/get", {"auth_code": auth_code, "grant_type": "authorized_code"})


def token_refresh(refresh_token: str) -> TokenGrant:
    """A new token pair; the old access token stops working."""
    return _auth_call(
        "/api/v2/token/refresh", {"refresh_token": refresh_token, "grant_type": "refresh_token"}
    )


# --- the Open API ------------------------------------------------------------------------------


class TikTokClient:
    """Calls on behalf of one shop (or, with `authorization` only, of a seller: `/authorization/*`).

    `sleep` exists so tests can observe backoff without waiting; production uses `time.sleep`.
    """

    def __init__(self, *, shop=None, authorization=None, sleep: Callable[[float], None] = time.sleep):
        if shop is None and authorization is None:
            raise ValueError("a TikTokClient needs a shop or an authorization")
        self.shop = shop
        self.authorization = authorization if authorization is not None else shop.authorization
        if self.authorization is None:
            raise TikTokError(f"shop {shop.shop_id} is not authorised: connect it again")
        self._sleep = sleep

    # -- plumbing --

    def _limiter(self, template: str) -> WindowLimiter:
        scope = self.shop.shop_id if self.shop is not None else self.authorization.open_id
        return WindowLimiter(
            f"tiktok:{settings.TIKTOK_APP_KEY}:{scope}:{template}", RATE_PER_S, RATE_WINDOW_S
        )

    def _access_token(self, *, force_refresh: bool = False) -> str:
        from .tokens import authorization_refresh, needs_refresh

        auth = self.authorization
        if force_refresh or needs_refresh(auth):
            self.authorization = auth = authorization_refresh(
                authorization=auth, seen_token=auth.access_token
            )
        return auth.access_token

    def call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
             shop_scoped: bool = True) -> dict:  # fmt: skip
        """One API call with the whole policy of the module docstring; returns `data`."""
        template = path_template(path)
        cipher = self.shop.cipher if (shop_scoped and self.shop is not None) else None
        breaker = get_breaker(BREAKER)
        refreshed = False
        attempt = 0
        timeouts = 0
        while True:
            attempt += 1
            if not breaker.allow():
                raise breaker.reject()
            try:
                self._limiter(template).acquire(timeout=MAX_INLINE_WAIT)
            except RateLimited as exc:
                raise RateLimitedError("our own rate limit for this path is exhausted",
                                       retry_after=exc.retry_after) from exc  # fmt: skip
            token = self._access_token()
            prepared = wire.prepare_call(
                method=method, path=path, app_key=settings.TIKTOK_APP_KEY, app_secret=settings.TIKTOK_APP_SECRET,
                access_token=token, shop_cipher=cipher, params=params, body=body,
            )  # fmt: skip
            try:
                answer = self._attempt(prepared, template)
            except TokenExpiredError:
                breaker.record_success()  # TikTok is up; our token is old
                if refreshed:
                    raise
                refreshed = True
                self._access_token(force_refresh=True)
                continue
            except TikTokError as exc:
                if not exc.retryable:
                    breaker.record_success()
                    raise
                if not isinstance(exc, RateLimitedError):
                    breaker.record_failure()
                if isinstance(exc, wire.TransportTimeout):
                    timeouts += 1
                if RETRY.exhausted(attempt) or timeouts > MAX_INLINE_TIMEOUTS:
                    raise
                wait = RETRY.backoff(attempt, retry_after=exc.retry_after)
                if wait > MAX_INLINE_WAIT:
                    raise
                logger.info("tiktok %s %s: %s; retrying in %.1fs", method, template, exc, wait)
                self._sleep(wait)
                continue
            breaker.record_success()
            return answer.data

    def _attempt(self, prepared: wire.PreparedCall, template: str) -> Answer:
        started = time.monotonic()
        status = None
        try:
            status, headers, raw = _send(
                prepared.method, prepared.url(settings.TIKTOK_API_BASE_URL), headers=prepared.headers,
                body=prepared.body,
            )  # fmt: skip
            answer = wire.parse_answer(http_status=status, headers=headers, body=raw)
        except TikTokError as exc:
            _record(shop_pk=self.shop.pk if self.shop else None, method=prepared.method, template=template,
                    code=exc.code, http_status=exc.http_status or status, request_id=exc.request_id,
                    started=started, error=exc.message)  # fmt: skip
            raise
        _record(shop_pk=self.shop.pk if self.shop else None, method=prepared.method, template=template,
                code=answer.code, http_status=answer.http_status, request_id=answer.request_id,
                started=started)  # fmt: skip
        return answer

    # -- endpoints (CONTRACT.md §4) --

    def authorized_shops(self) -> list[dict]:
        data = self.call("GET", "/authorization/202309/shops", shop_scoped=False)
        return list(data.get("shops") or [])

    def search_orders(self, *, page_size: int = 100, page_token: str = "", sort_field: str = "update_time",
                      sort_order: str = "ASC", **filters) -> dict:  # fmt: skip
        params = {"page_size": page_size, "sort_field": sort_field, "sort_order": sort_order}
        if page_token:
            params["page_token"] = page_token
        body = {key: value for key, value in filters.items() if value is not None}
        return self.call("POST", "/order/202309/orders/search", params=params, body=body)

    def iter_order_pages(self, **filters) -> Iterator[dict]:
        """Every page of an order search; stops at an empty or absent `next_page_token`."""
        token = ""
        while True:
            data = self.search_orders(page_token=token, **filters)
            yield data
            token = data.get("next_page_token") or ""
            if not token:
                return

    def get_orders(self, ids: list[str]) -> list[dict]:
        """Order documents by id, fetched ORDER_IDS_PER_CALL at a time."""
        ids = [str(i) for i in dict.fromkeys(ids)]
        orders: list[dict] = []
        for start in range(0, len(ids), ORDER_IDS_PER_CALL):
            chunk = ids[start : start + ORDER_IDS_PER_CALL]
            data = self.call("GET", "/order/202309/orders", params={"ids": chunk})
            orders.extend(data.get("orders") or [])
        return orders

    def search_products(self, *, page_size: int = 100, page_token: str = "", **filters) -> dict:
        params = {"page_size": page_size}
        if page_token:
            params["page_token"] = page_token
        body = {key: value for key, value in filters.items() if value is not None}
        return self.call("POST", "/product/202309/products/search", params=params, body=body)

    def iter_product_pages(self, **filters) -> Iterator[dict]:
        token = ""
        while True:
            data = self.search_products(page_token=token, **filters)
            yield data
            token = data.get("next_page_token") or ""
            if not token:
                return

    def get_product(self, product_id: str) -> dict:
        return self.call("GET", f"/product/202309/products/{product_id}")

    def update_inventory(self, product_id: str, skus: list[dict]) -> dict:
        """Absolute stock per SKU and warehouse; per-SKU failures come back in `errors`."""
        return self.call(
            "POST", f"/product/202309/products/{product_id}/inventory/update", body={"skus": skus}
        )

    def shipping_providers(self, delivery_option_id: str) -> list[dict]:
        data = self.call("GET", f"/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers")
        return list(data.get("shipping_providers") or [])

    def create_package(self, order_id: str, *, tracking_number: str, shipping_provider_id: str,
                       order_line_item_ids: list[str] | None = None) -> dict:  # fmt: skip
        body = {"tracking_number": tracking_number, "shipping_provider_id": shipping_provider_id}
        if order_line_item_ids:
            body["order_line_item_ids"] = list(order_line_item_ids)
        return self.call("POST", f"/fulfillment/202309/orders/{order_id}/packages", body=body)

    def video_performance_page(self, *, start_date: str, end_date: str, page_size: int = 50,
                               page_token: str = "") -> dict:  # fmt: skip
        params = {"start_date_ge": start_date, "end_date_lt": end_date, "page_size": page_size}
        if page_token:
            params["page_token"] = page_token
        return self.call("GET", "/analytics/202409/shop_videos/performance", params=params)

    def video_performance(self, video_id: str) -> dict:
        return self.call("GET", f"/analytics/202409/shop_videos/{video_id}/performance")


__all__ = [
    "CircuitOpenError",
    "RateLimitedError",
    "ServerError",
    "TikTokClient",
    "TikTokError",
    "TokenGrant",
    "TransportError",
    "token_get",
    "token_refresh",
]
