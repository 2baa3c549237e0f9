"""The TikTok Shop sandbox over HTTP: signature and token rules, rate limit, orders, products,
logistics, fulfilment and video analytics, spoken to with plain `requests` and our signing module."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tiktok.signing import api_sign

USPS = "7117858858072016686"


class Api:
    """A minimal signed caller (tests only): query, body bytes and sign exactly as sent."""

    def __init__(self, sb, shop=None, token=None):
        self.sb = sb
        self.shop = shop
        self.token = token
        self.http = requests.Session()

    def call(
        self, method, path, params=None, body=None, *, cipher=True, token=None, timestamp=None, tamper=None
    ):
        query = {"app_key": self.sb.app_key, "timestamp": str(timestamp or int(time.time()))}
        if cipher and self.shop:
            query["shop_cipher"] = self.shop["cipher"]
        query.update(params or {})
        raw = json.dumps(body).encode() if body is not None else b""
        query["sign"] = api_sign(app_secret=self.sb.app_secret, path=path, params=query, body=raw)
        if tamper:
            raw = tamper(raw)
        headers = {"content-type": "application/json"}
        if token is not False:
            headers["x-tts-access-token"] = token or self.token
        response = self.http.request(method, self.sb.base_url + path, params=query, data=raw, headers=headers)
        return response.status_code, response.json(), response

    def ok(self, method, path, params=None, body=None, **kw):
        status, envelope, _ = self.call(method, path, params, body, **kw)
        assert (status, envelope["code"]) == (200, 0), envelope
        return envelope["data"]


@pytest.fixture
def shop(tiktok_sandbox):
    return tiktok_sandbox.add_shop(name="Glow Lab", region="US", seller="seller-1")


@pytest.fixture
def api(tiktok_sandbox, shop):
    return Api(tiktok_sandbox, shop, tiktok_sandbox.tokens_for(shop["id"])["access_token"])


@pytest.fixture
def sku(tiktok_sandbox, shop):
    product = tiktok_sandbox.add_product(
        shop["id"], title="Lip Oil", skus=[{"seller_sku": "GL-LIP-1", "price": "19.99", "quantity": 40}]
    )
    return product["skus"][0]["id"]


# signing, tokens, envelope ---------------------------------------------------------------------------
def test_good_sign_lists_the_authorised_shops(api, shop):
    status, envelope, response = api.call("GET", "/authorization/202309/shops", cipher=False)
    assert status == 200 and envelope["code"] == 0 and envelope["message"] == "Success"
    assert envelope["request_id"] and response.headers["Content-Length"]
    assert envelope["data"]["shops"] == [
        {
            "id": shop["id"],
            "name": "Glow Lab",
            "region": "US",
            "seller_type": "LOCAL",
            "cipher": shop["cipher"],
            "code": envelope["data"]["shops"][0]["code"],
        }
    ]
    assert len(shop["id"]) == 19 and len(shop["warehouse_ids"]) == 2


def test_one_changed_byte_or_missing_sign_is_106001(api):
    status, envelope, _ = api.call(
        "POST",
        "/order/202309/orders/search",
        {"page_size": "10"},
        {"order_status": "UNPAID"},
        tamper=lambda raw: raw.replace(b"UNPAID", b"UNPAIE"),
    )
    assert (status, envelope["code"], envelope["data"]) == (401, 106001, None)
    response = requests.get(
        api.sb.base_url + "/authorization/202309/shops",
        params={"app_key": api.sb.app_key, "timestamp": str(int(time.time()))},
        headers={"x-tts-access-token": api.token},
    )
    assert (response.status_code, response.json()["code"]) == (401, 106001)


def test_timestamp_window(api):
    now = int(time.time())
    for stale in (now - 301, now + 31):
        status, envelope, _ = api.call("GET", "/authorization/202309/shops", cipher=False, timestamp=stale)
        assert (status, envelope["code"]) == (400, 36009004)
    api.ok("GET", "/authorization/202309/shops", cipher=False, timestamp=now - 290)


def test_shop_cipher_missing_foreign_or_unknown(tiktok_sandbox, api, shop):
    status, envelope, _ = api.call("GET", "/order/202309/orders", {"ids": "1"}, cipher=False)
    assert (status, envelope["code"]) == (400, 106013)
    other = tiktok_sandbox.add_shop(name="Other", seller="seller-2")
    _, envelope, _ = api.call("GET", "/order/202309/orders", {"ids": "1", "shop_cipher": other["cipher"]})
    assert envelope["code"] == 36009004
    status, envelope, _ = api.call("GET", "/order/202309/orders", {"ids": "1"}, token="nope")
    assert (status, envelope["code"]) == (401, 36009004)
    _, envelope, _ = api.call("GET", "/order/202309/orders", {"ids": "1"}, token=False)
    assert envelope["code"] == 36009004


def test_unknown_path_and_wrong_app_key(api):
    status, envelope, _ = api.call("GET", "/order/202309/nothing")
    assert (status, envelope["code"]) == (404, 36009004)
    status, envelope, _ = api.call("GET", "/authorization/202309/shops", {"app_key": "other"}, cipher=False)
    assert status == 401
    assert envelope["code"] == 36009004


def token_get(sb, **params):
    query = {"app_key": sb.app_key, "app_secret": sb.app_secret, **params}
    response = requests.get(sb.base_url + params.pop("_path", "/api/v2/token/get"), params=query)
    return response.json()


def test_auth_code_exchange_once_then_refresh_replaces_the_token(tiktok_sandbox, shop):
    sb = tiktok_sandbox
    code = sb.issue_auth_code()
    envelope = token_get(sb, auth_code=code, grant_type="authorized_code")
    assert envelope["code"] == 0
    data = envelope["data"]
    now = int(time.time())
    assert abs(data["access_token_expire_in"] - (now + 7 * 86400)) < 5
    assert abs(data["refresh_token_expire_in"] - (now + 30 * 86400)) < 5
    assert {"open_id", "seller_name", "seller_base_region", "user_type"} <= set(data)
    assert token_get(sb, auth_code=code, grant_type="authorized_code")["code"] == 36009004  # once only
    bad = {"app_secret": "wrong", "auth_code": sb.issue_auth_code(), "grant_type": "authorized_code"}
    assert token_get(sb, **bad)["code"] == 36009004

    api = Api(sb, shop, data["access_token"])
    sb.expire_access_tokens()
    status, envelope, _ = api.call("GET", "/authorization/202309/shops", cipher=False)
    assert (status, envelope["code"]) == (401, 105002)
    query = {"refresh_token": data["refresh_token"], "grant_type": "refresh_token"}
    refreshed = requests.get(
        sb.base_url + "/api/v2/token/refresh",
        params={"app_key": sb.app_key, "app_secret": sb.app_secret, **query},
    ).json()
    assert refreshed["code"] == 0 and refreshed["data"]["access_token"] != data["access_token"]
    assert refreshed["data"]["refresh_token"] != data["refresh_token"]
    _, envelope, _ = api.call("GET", "/authorization/202309/shops", cipher=False)
    assert envelope["code"] == 36009004  # the old access token is gone
    api.ok("GET", "/authorization/202309/shops", cipher=False, token=refreshed["data"]["access_token"])


# rate limit ------------------------------------------------------------------------------------------
def test_rate_limit_per_path(api, shop):
    answers = [api.call("GET", "/order/202309/orders", {"ids": "1"}) for _ in range(70)]
    limited = [r for r in answers if r[0] == 429]
    assert limited, "70 calls in well under a second must hit the 50/s limit"
    assert all(envelope["code"] == 36009002 for _, envelope, _ in limited)
    assert int(limited[0][2].headers["Retry-After"]) >= 1
    api.ok("GET", "/authorization/202309/shops", cipher=False)  # another path has its own bucket
    assert any(c.code == 36009002 and c.template == "/order/202309/orders" for c in api.sb.calls)


# orders --------------------------------------------------------------------------------------------
def collect(api, path, body, page_size, token="", **params):
    seen, pages = [], 0
    while True:
        data = api.ok("POST", path, {"page_size": str(page_size), "page_token": token, **params}, body)
        key = "orders" if "orders" in data else "products"
        seen += [row["id"] for row in data[key]]
        token, pages = data["next_page_token"], pages + 1
        if not token:
            return seen, data["total_count"], pages


def test_orders_search_pages_completely_and_stably(tiktok_sandbox, api, shop, sku):
    ids = [tiktok_sandbox.create_order(shop["id"], [(sku, 1)], notify=False)["id"] for _ in range(23)]
    for order in ("ASC", "DESC"):
        seen, total, pages = collect(api, "/order/202309/orders/search", {}, 10, sort_order=order)
        assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)) == total == 23 and pages == 3
    # orders arriving mid-paging neither duplicate nor hide the ones already there (ASC: they come last)
    first = api.ok("POST", "/order/202309/orders/search", {"page_size": "10", "sort_order": "ASC"}, {})
    late = tiktok_sandbox.create_order(shop["id"], [(sku, 1)], notify=False)["id"]
    rest, _, _ = collect(
        api, "/order/202309/orders/search", {}, 10, sort_order="ASC", token=first["next_page_token"]
    )
    everything = [o["id"] for o in first["orders"]] + rest
    assert sorted(everything) == sorted([*ids, late]) and len(everything) == len(set(everything))
    for bad in ({"page_size": "0"}, {"page_size": "101"}, {}, {"page_size": "5", "page_token": "garbage!"}):
        _, envelope, _ = api.call("POST", "/order/202309/orders/search", bad, {})
        assert envelope["code"] == 36009004, bad


def test_orders_search_filters(tiktok_sandbox, api, shop, sku):
    held = tiktok_sandbox.create_order(shop["id"], [(sku, 1)], status="ON_HOLD", notify=False)
    tiktok_sandbox.create_order(shop["id"], [(sku, 1)], notify=False)
    data = api.ok("POST", "/order/202309/orders/search", {"page_size": "50"}, {"order_status": "ON_HOLD"})
    assert [o["id"] for o in data["orders"]] == [held["id"]] and data["total_count"] == 1
    moved = tiktok_sandbox.set_order_status(shop["id"], held["id"], "AWAITING_SHIPMENT", notify=False)
    body = {"update_time_ge": moved["update_time"]}
    data = api.ok(
        "POST", "/order/202309/orders/search", {"page_size": "50", "sort_field": "update_time"}, body
    )
    assert [o["id"] for o in data["orders"]] == [held["id"]]
    _, envelope, _ = api.call(
        "POST", "/order/202309/orders/search", {"page_size": "5", "sort_field": "x"}, {}
    )
    assert envelope["code"] == 36009004


def test_get_orders_documents_one_unit_per_line(tiktok_sandbox, api, shop, sku):
    order = tiktok_sandbox.create_order(shop["id"], [(sku, 3)], notify=False)
    held = tiktok_sandbox.create_order(shop["id"], [(sku, 1)], status="ON_HOLD", notify=False)
    data = api.ok("GET", "/order/202309/orders", {"ids": f"{order['id']},{held['id']},999"})
    by_id = {o["id"]: o for o in data["orders"]}
    assert set(by_id) == {order["id"], held["id"]}
    doc = by_id[order["id"]]
    assert len(doc["line_items"]) == 3 and all("quantity" not in item for item in doc["line_items"])
    item = doc["line_items"][0]
    assert item["sale_price"] == "19.99" and item["seller_sku"] == "GL-LIP-1" and item["sku_id"] == sku
    assert doc["payment"]["sub_total"] == "59.97" and isinstance(doc["payment"]["total_amount"], str)
    for name in (
        "rts_sla_time",
        "tts_sla_time",
        "shipping_due_time",
        "collection_due_time",
        "delivery_due_time",
    ):
        assert doc[name] > doc["create_time"]
    assert doc["recipient_address"]["district_info"] and doc["recipient_address"]["postal_code"]
    assert (
        doc["delivery_option_id"] in shop["delivery_option_ids"]
        and doc["warehouse_id"] == shop["warehouse_ids"][0]
    )
    assert doc["is_on_hold_order"] is False and by_id[held["id"]]["is_on_hold_order"] is True
    hidden = by_id[held["id"]]["recipient_address"]
    assert hidden["full_address"] == "" and hidden["name"] == "" and hidden["district_info"] == []
    _, envelope, _ = api.call("GET", "/order/202309/orders", {"ids": ",".join(str(n) for n in range(51))})
    assert envelope["code"] == 36009004


def test_order_changes_bump_update_time_and_stock(tiktok_sandbox, shop, sku):
    sb = tiktok_sandbox
    order = sb.create_order(shop["id"], [(sku, 4)], status="UNPAID", notify=False)
    assert sb.sku_inventory(sku)[shop["warehouse_ids"][0]] == 36 and order["paid_time"] == 0
    times = [order["update_time"]]
    for status in ("AWAITING_SHIPMENT", "ON_HOLD", "AWAITING_SHIPMENT"):
        times.append(sb.set_order_status(shop["id"], order["id"], status, notify=False)["update_time"])
    assert times == sorted(set(times))  # strictly increasing, even within one second
    cancelled = sb.set_order_status(shop["id"], order["id"], "CANCELLED", notify=False)
    assert cancelled["status"] == "CANCELLED" and sb.sku_inventory(sku)[shop["warehouse_ids"][0]] == 40
    assert sb.get_order(order["id"])["paid_time"] > 0 and len(sb.orders(shop["id"])) == 1


# products ------------------------------------------------------------------------------------------
def test_products_search_and_get(tiktok_sandbox, api, shop):
    products = tiktok_sandbox.seed_catalog(shop["id"], products=12, skus_per_product=2, quantity=7)
    seen, total, pages = collect(api, "/product/202309/products/search", {}, 5)
    assert sorted(seen) == sorted(p["id"] for p in products) and total == 12 and pages == 3
    doc = api.ok("GET", f"/product/202309/products/{products[0]['id']}")
    assert doc["update_time"] and len(doc["skus"]) == 2 and doc["skus"][0]["price"]["currency"] == "USD"
    assert doc["skus"][0]["inventory"][0] == {"warehouse_id": shop["warehouse_ids"][0], "quantity": 7}
    tiktok_sandbox.set_product_status(products[1]["id"], "SELLER_DEACTIVATED", notify=False)
    data = api.ok(
        "POST", "/product/202309/products/search", {"page_size": "50"}, {"status": "SELLER_DEACTIVATED"}
    )
    assert [p["id"] for p in data["products"]] == [products[1]["id"]]
    _, envelope, _ = api.call("GET", "/product/202309/products/123")
    assert envelope["code"] == 36009004
    again = tiktok_sandbox.seed_catalog(shop["id"], products=1)  # same seed, same names
    assert again[0]["title"] == products[0]["title"]


def test_inventory_update_applies_good_skus_and_reports_bad_ones(tiktok_sandbox, api, shop):
    sb = tiktok_sandbox
    first, other = sb.seed_catalog(shop["id"], products=2, skus_per_product=2, quantity=5)
    good, second = (s["id"] for s in first["skus"])
    wh1, wh2 = shop["warehouse_ids"]
    body = {
        "skus": [
            {
                "id": good,
                "inventory": [{"warehouse_id": wh1, "quantity": 12}, {"warehouse_id": wh2, "quantity": 3}],
            },
            {"id": other["skus"][0]["id"], "inventory": [{"warehouse_id": wh1, "quantity": 1}]},
            {"id": "123", "inventory": [{"warehouse_id": wh1, "quantity": 1}]},
            {"id": second, "inventory": [{"warehouse_id": "999", "quantity": 1}]},
            {"id": int(second), "inventory": [{"warehouse_id": wh1, "quantity": -1}]},
        ]
    }
    before = sb.product(first["id"])["update_time"]
    data = api.ok("POST", f"/product/202309/products/{first['id']}/inventory/update", body=body)
    assert [e["detail"]["sku_id"] for e in data["errors"]] == [other["skus"][0]["id"], "123", second, second]
    assert all(e["code"] and e["message"] for e in data["errors"])
    assert sb.sku_inventory(good) == {wh1: 12, wh2: 3} and sb.sku_inventory(second)[wh1] == 5
    assert sb.product(first["id"])["update_time"] > before
    _, envelope, _ = api.call("POST", f"/product/202309/products/{first['id']}/inventory/update", body={})
    assert envelope["code"] == 36009004


# logistics and fulfilment ----------------------------------------------------------------------------
def test_shipping_providers_per_delivery_option(api, shop):
    option = shop["delivery_option_ids"][0]
    data = api.ok("GET", f"/logistics/202309/delivery_options/{option}/shipping_providers")
    names = {p["name"]: p["id"] for p in data["shipping_providers"]}
    assert {"USPS", "UPS", "FedEx", "DHL eCommerce"} <= set(names) and names["USPS"] == USPS
    again = api.ok("GET", f"/logistics/202309/delivery_options/{option}/shipping_providers")
    assert again == data
    _, envelope, _ = api.call("GET", "/logistics/202309/delivery_options/42/shipping_providers")
    assert envelope["code"] == 36009004


def test_packages_move_the_order_and_reject_bad_requests(tiktok_sandbox, api, shop, sku):
    sb = tiktok_sandbox
    order = sb.create_order(shop["id"], [(sku, 2)], notify=False)
    path = f"/fulfillment/202309/orders/{order['id']}/packages"
    first_item = order["line_items"][0]["id"]

    def ship(**body):
        _, envelope, _ = api.call(
            "POST", path, body={"tracking_number": "1Z999", "shipping_provider_id": USPS, **body}
        )
        return envelope

    assert ship(shipping_provider_id="123")["code"] == 21011001
    assert "invalid shipping provider" in ship(shipping_provider_id="123")["message"]
    assert ship(tracking_number="")["code"] == ship(tracking_number="1ZINVALID")["code"] == 21011002
    part = ship(order_line_item_ids=[first_item])
    assert part["code"] == 0 and part["data"]["order_line_item_ids"] == [first_item]
    assert sb.get_order(order["id"])["status"] == "PARTIALLY_SHIPPING"
    rest = ship()
    assert rest["code"] == 0 and rest["data"]["order_line_item_ids"] == [order["line_items"][1]["id"]]
    doc = sb.get_order(order["id"])
    assert doc["status"] == "AWAITING_COLLECTION" and doc["tracking_number"] == "1Z999"
    assert doc["shipping_provider_id"] == USPS and all(i["package_id"] for i in doc["line_items"])
    again = ship()
    assert again["code"] == 21011003 and again["message"] == "package already shipped"
    held = sb.create_order(shop["id"], [(sku, 1)], status="ON_HOLD", notify=False)
    path = f"/fulfillment/202309/orders/{held['id']}/packages"
    assert ship()["code"] == 21011004
    assert sb.advance_shipped(3600) == 1 and sb.get_order(order["id"])["status"] == "IN_TRANSIT"
    sb.advance_shipped(2 * 86400)
    assert sb.get_order(order["id"])["status"] == "DELIVERED"


# videos --------------------------------------------------------------------------------------------
def test_video_performance(tiktok_sandbox, api, shop, sku):
    sb = tiktok_sandbox
    product_id = sb.state.skus[sku].product_id
    video = sb.add_video(shop["id"], title="Lip oil review", product_ids=[product_id], views=1000)
    sb.bump_video(video["id"], views=500, likes=10)
    sb.create_order(shop["id"], [(sku, 2)], notify=False, video_id=video["id"])
    params = {"start_date_ge": "2020-01-01", "end_date_lt": "2100-01-01", "page_size": "10"}
    data = api.ok("GET", "/analytics/202409/shop_videos/performance", params)
    (row,) = data["videos"]
    assert row["id"] == video["id"] and row["views"] == 1500 and row["username"]
    assert row["products"] == [{"id": product_id, "name": "Lip Oil"}] and row["gmv"] == {
        "amount": "39.98",
        "currency": "USD",
    }
    assert row["units_sold"] == 2 and row["sku_orders"] == 1 and data["next_page_token"] == ""
    assert isinstance(row["click_through_rate"], str) and isinstance(row["video_post_time"], int)
    one = api.ok("GET", f"/analytics/202409/shop_videos/{video['id']}/performance")
    assert one["video_id"] == video["id"] and one["engagement_data"]["total_views"] == 1500
    assert one["engagement_data"]["total_likes"] == 1000 // 12 + 10
    _, envelope, _ = api.call(
        "GET", "/analytics/202409/shop_videos/performance", {"start_date_ge": "yesterday"}
    )
    assert envelope["code"] == 36009004
