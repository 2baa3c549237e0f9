"""Sandbox webhooks (signed, counted, droppable), injected faults and the order scenarios."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tiktok.sandbox.scenarios import ScenarioRunner
from tiktok.signing import signatures_match, webhook_sign
from tiktok.tests.test_sandbox import Api


class Receiver:
    """A tiny webhook endpoint recording (headers, raw body); answers `status`."""

    def __init__(self, status=200):
        received = self.received = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/tiktok/"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def shop(tiktok_sandbox):
    return tiktok_sandbox.add_shop(name="Glow Lab")


@pytest.fixture
def sku(tiktok_sandbox, shop):
    return tiktok_sandbox.seed_catalog(shop["id"], products=1, skus_per_product=1, quantity=3)[0]["skus"][0][
        "id"
    ]


def test_webhooks_arrive_signed_with_unique_ids(tiktok_sandbox, receiver, shop, sku):
    sb = tiktok_sandbox
    sb.webhook_url = receiver.url
    order = sb.create_order(shop["id"], [(sku, 1)])
    sb.set_order_status(shop["id"], order["id"], "CANCELLED")
    sb.send_webhook(shop["id"], 5, {"product_id": "1", "status": "ACTIVATE", "update_time": 1})
    assert sb.flush_webhooks(timeout=5)
    payloads = []
    for headers, body in receiver.received:
        expected = webhook_sign(app_key="test-app-key", app_secret="test-app-secret", body=body)
        assert (
            signatures_match(expected, headers["Authorization"])
            and headers["Content-Type"] == "application/json"
        )
        payloads.append(json.loads(body))
    assert [p["type"] for p in payloads] == [1, 1, 11, 5]
    created = payloads[0]
    assert created["shop_id"] == shop["id"] and isinstance(created["timestamp"], int)
    assert created["data"] == {
        "order_id": order["id"],
        "order_status": "AWAITING_SHIPMENT",
        "is_on_hold_order": False,
        "update_time": order["update_time"],
    }
    assert payloads[1]["data"]["order_status"] == "CANCELLED"
    assert len({p["tts_notification_id"] for p in payloads}) == 4
    assert sb.webhook_stats == {"sent": 4, "failed": 0, "dropped": 0}


def test_shipping_stock_and_product_changes_send_their_types(tiktok_sandbox, receiver, shop, sku):
    sb = tiktok_sandbox
    sb.webhook_url = receiver.url
    order = sb.create_order(shop["id"], [(sku, 3)])  # takes the last 3: out of stock (27)
    api = Api(sb, shop, sb.tokens_for(shop["id"])["access_token"])
    api.ok(
        "POST",
        f"/fulfillment/202309/orders/{order['id']}/packages",
        body={"tracking_number": "9400", "shipping_provider_id": "7117858858072016686"},
    )
    sb.set_product_status(sb.state.skus[sku].product_id, "SELLER_DEACTIVATED")
    sb.update_recipient_address(shop["id"], order["id"])
    sb.deauthorize(shop["id"])
    sb.flush_webhooks()
    types = [json.loads(body)["type"] for _, body in receiver.received]
    assert types == [27, 1, 1, 5, 3, 6]
    stock = json.loads(receiver.received[0][1])["data"]
    assert stock["sku_id"] == sku and stock["inventory_status"] == "OUT_OF_STOCK"
    assert json.loads(receiver.received[2][1])["data"]["order_status"] == "AWAITING_COLLECTION"


def test_dropped_and_failed_webhooks_are_counted(tiktok_sandbox, receiver, shop, sku):
    sb = tiktok_sandbox
    sb.webhook_url = receiver.url
    sb.faults.drop_webhooks = True
    sb.create_order(shop["id"], [(sku, 1)])
    sb.flush_webhooks()
    assert receiver.received == [] and sb.webhook_stats == {"sent": 0, "failed": 0, "dropped": 1}
    assert sb.webhook_log[0]["type"] == 1  # generated all the same
    sb.faults.drop_webhooks = False
    receiver.status = 500
    sb.create_order(shop["id"], [(sku, 1)])
    assert sb.flush_webhooks(timeout=5)
    assert len(receiver.received) == 3  # one try and two quick retries
    assert sb.webhook_stats == {"sent": 0, "failed": 1, "dropped": 1}


def test_injected_5xx_429_latency_and_error_rate(tiktok_sandbox, shop):
    sb = tiktok_sandbox
    api = Api(sb, shop, sb.tokens_for(shop["id"])["access_token"])
    sb.faults.fail_5xx = 2
    sb.faults.fail_429 = 1
    answers = [api.call("GET", "/authorization/202309/shops", cipher=False) for _ in range(4)]
    assert [(s, e["code"]) for s, e, _ in answers] == [
        (500, 36009003),
        (500, 36009003),
        (429, 36009002),
        (200, 0),
    ]
    assert int(answers[2][2].headers["Retry-After"]) >= 1
    sb.faults.latency_ms = 150
    started = time.perf_counter()
    api.ok("GET", "/authorization/202309/shops", cipher=False)
    assert time.perf_counter() - started >= 0.15
    sb.faults.latency_ms = 0
    sb.faults.error_rate = 1.0
    status, envelope, _ = api.call("GET", "/authorization/202309/shops", cipher=False)
    assert (status, envelope["code"]) == (503, 36009003)
    assert sb.calls[-1].http_status == 503 and sb.calls[-1].template == "/authorization/202309/shops"


def test_steady_scenario_places_orders_from_a_thread(tiktok_sandbox, shop):
    sb = tiktok_sandbox
    sb.seed_catalog(shop["id"], products=25, skus_per_product=2, quantity=50)
    sb.start_scenario("steady", rate_multiplier=400)  # ~20 orders a second
    deadline = time.monotonic() + 3
    while len(sb.orders(shop["id"])) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    sb.stop_scenario()
    orders = sb.orders(shop["id"])
    assert len(orders) >= 5 and sb.scenario_name is None
    assert sum(1 for w in sb.webhook_log if w["type"] == 1) >= len(orders)


def test_viral_scenario_explodes_one_video_and_its_sku(tiktok_sandbox, shop):
    sb = tiktok_sandbox
    products = sb.seed_catalog(shop["id"], products=25, skus_per_product=2, quantity=10_000)
    video = sb.add_video(shop["id"], title="Viral", product_ids=[products[3]["id"]], views=1000)
    viral_sku = products[3]["skus"][0]["id"]
    runner = ScenarioRunner(sb.state, "viral", rate_multiplier=1, seed=1, shop_id=shop["id"])
    early = [runner.step(1) for _ in range(60)]  # the first simulated minute
    early_units = sb.state.videos[video["id"]].units_sold
    assert len(early) == 60 and runner.viral_sku == viral_sku
    for _ in range(300):  # five more minutes: the ramp is done
        runner.step(1)
    before = len(sb.orders(shop["id"]))
    for _ in range(600):
        runner.step(1)
    late = sb.orders(shop["id"])[before:]
    viral_lines = sum(1 for o in late for i in o["line_items"] if i["sku_id"] == viral_sku)
    rate_late = viral_lines / 600
    assert rate_late > 20 * (0.5 / 60)  # 20× the video's usual half an order a minute
    assert (
        sb.state.videos[video["id"]].views > 1_000_000
        and sb.state.videos[video["id"]].units_sold > early_units
    )
