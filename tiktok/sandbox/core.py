"""`Sandbox`: a local TikTok Shop (Open API + auth host + consent page) for tests, benchmarks and the
demo. It owns the state, the HTTP server thread, the webhook sender and an optional scenario.

Start and stop are cheap (a bound socket and two threads), so a test can have its own sandbox.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import NamedTuple

from .faults import RateLimiter, SandboxFaults
from .scenarios import ScenarioRunner
from .server import SandboxHTTPServer
from .state import SandboxState
from .webhooks import WebhookSender

CALL_LOG_SIZE = 200_000
POLL_S = 0.01  # serve_forever's poll: shutdown waits at most this long


class SandboxCall(NamedTuple):
    method: str
    path: str
    template: str
    shop_id: str
    code: int
    http_status: int


class Sandbox:
    def __init__(
        self,
        *,
        app_key: str = "sandbox-app-key",
        app_secret: str = "sandbox-app-secret",  # noqa: S107 - the public sandbox secret, not a real one
        service_id: str = "sandbox-service",
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        redirect_url: str = "http://127.0.0.1:8000/tiktok/oauth/callback/",
        rate_limit_per_s: float = 50,
        token_ttl: int = 7 * 86400,
        seed: int = 1,
    ):
        self.app_key = app_key
        self.app_secret = app_secret
        self.service_id = service_id
        self.host = host
        self.port = port
        self.redirect_url = redirect_url
        self.seed = seed
        self.faults = SandboxFaults()
        self.limiter = RateLimiter(rate_limit_per_s)
        self._webhooks = WebhookSender(
            app_key=app_key, app_secret=app_secret, url=webhook_url, faults=self.faults, seed=seed
        )
        self.state = SandboxState(seed=seed, token_ttl=token_ttl, emit=self._webhooks.enqueue)
        self._calls: deque[SandboxCall] = deque(maxlen=CALL_LOG_SIZE)
        self._calls_by_path: Counter = Counter()
        self._calls_lock = threading.Lock()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._scenario: ScenarioRunner | None = None

    # lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        self._server = SandboxHTTPServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_S},
            name="tiktok-sandbox-http",
            daemon=True,
        )
        self._thread.start()
        self._webhooks.start()
        return self

    def stop(self) -> None:
        self.stop_scenario()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._thread.join(1)
            self._server = None
        self._webhooks.flush(timeout=1)
        self._webhooks.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def authorize_url(self) -> str:
        return self.base_url + "/open/authorize"

    @property
    def webhook_url(self) -> str | None:
        return self._webhooks.url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self._webhooks.url = url

    # calls ---------------------------------------------------------------------------------------
    def record_call(self, method: str, path: str, answer) -> None:
        call = SandboxCall(
            method, path, answer.template or path, answer.shop_id, answer.code, answer.http_status
        )
        with self._calls_lock:
            self._calls.append(call)
            self._calls_by_path[call.template] += 1

    def record_page_call(self, method: str, path: str) -> None:
        with self._calls_lock:
            self._calls_by_path[path] += 1

    @property
    def calls(self) -> list[SandboxCall]:
        with self._calls_lock:
            return list(self._calls)

    def calls_by_path(self) -> dict[str, int]:
        with self._calls_lock:
            return dict(self._calls_by_path)

    def clear_calls(self) -> None:
        with self._calls_lock:
            self._calls.clear()
            self._calls_by_path.clear()

    # webhooks ------------------------------------------------------------------------------------
    @property
    def webhook_stats(self) -> dict:
        return self._webhooks.stats

    @property
    def webhook_log(self) -> list[dict]:
        """Every webhook generated (sent, failed or dropped), oldest first."""
        return list(self._webhooks.log)

    def send_webhook(self, shop_id, type, data) -> dict:  # noqa: A002 - the contract's field name
        return self._webhooks.enqueue(str(shop_id), int(type), data)

    def flush_webhooks(self, timeout: float = 5) -> bool:
        return self._webhooks.flush(timeout)

    # scenarios -----------------------------------------------------------------------------------
    def start_scenario(self, name: str, rate_multiplier: float = 1.0, shop_id=None) -> ScenarioRunner:
        self.stop_scenario()
        runner = ScenarioRunner(
            self.state, name, rate_multiplier=rate_multiplier, seed=self.seed, shop_id=shop_id
        )
        runner.start()
        self._scenario = runner
        return runner

    def stop_scenario(self) -> None:
        runner, self._scenario = self._scenario, None
        if runner is not None:
            runner.stop()

    @property
    def scenario(self) -> ScenarioRunner | None:
        return self._scenario

    @property
    def scenario_name(self) -> str | None:
        return self._scenario.name if self._scenario else None

    # shop state (thin delegation, so callers need one object) ---------------------------------------
    def add_shop(self, name: str = "Glow Lab", region: str = "US", seller: str = "seller-1", **ids) -> dict:
        return self.state.add_shop(name=name, region=region, seller=seller, **ids)

    def add_product(self, shop_id, *, title: str, skus: list[dict], status: str = "ACTIVATE", **kw) -> dict:
        return self.state.add_product(shop_id, title=title, skus=skus, status=status, **kw)

    def seed_catalog(
        self, shop_id, products: int = 50, skus_per_product: int = 2, quantity: int = 100
    ) -> list[dict]:
        return self.state.seed_catalog(
            shop_id, products=products, skus_per_product=skus_per_product, quantity=quantity
        )

    def create_order(
        self, shop_id, items, status: str = "AWAITING_SHIPMENT", notify: bool = True, **kw
    ) -> dict:
        return self.state.create_order(shop_id, items, status=status, notify=notify, **kw)

    def import_order(self, shop_id, document: dict, *, address, buyer: str) -> dict:
        return self.state.import_order(shop_id, document, address=address, buyer=buyer)

    def set_order_status(self, shop_id, order_id, status: str, notify: bool = True, **kw) -> dict:
        return self.state.set_order_status(shop_id, order_id, status, notify=notify, **kw)

    def update_recipient_address(self, shop_id, order_id, notify: bool = True) -> dict:
        return self.state.update_recipient_address(shop_id, order_id, notify=notify)

    def get_order(self, order_id) -> dict:
        return self.state.get_order(order_id)

    def orders(self, shop_id) -> list[dict]:
        return self.state.orders_of(shop_id)

    def product(self, product_id) -> dict:
        return self.state.product_doc(product_id)

    def set_product_status(self, product_id, status: str, notify: bool = True) -> dict:
        return self.state.set_product_status(product_id, status, notify=notify)

    def sku_inventory(self, sku_id) -> dict[str, int]:
        return self.state.sku_inventory(sku_id)

    def advance_shipped(self, seconds: int) -> int:
        return self.state.advance_shipped(seconds)

    def issue_auth_code(self, shop_ids=None) -> str:
        return self.state.issue_auth_code(shop_ids)

    def tokens_for(self, shop_id) -> dict:
        return self.state.tokens_for(shop_id)

    def register_tokens(self, shop_id, *, access_token: str, refresh_token: str, ttl: int) -> None:
        self.state.register_tokens(shop_id, access_token=access_token, refresh_token=refresh_token, ttl=ttl)

    def expire_access_tokens(self) -> int:
        return self.state.expire_access_tokens()

    def deauthorize(self, shop_id) -> None:
        self.state.deauthorize(shop_id)

    def warn_authorization_expiry(self, shop_id, days_left: int = 7) -> None:
        self.state.warn_authorization_expiry(shop_id, days_left=days_left)

    def add_video(self, shop_id, *, title: str, product_ids=(), views: int = 1000, **kw) -> dict:
        return self.state.add_video(shop_id, title=title, product_ids=product_ids, views=views, **kw)

    def bump_video(self, video_id, **deltas) -> dict:
        return self.state.bump_video(video_id, **deltas)
