"""The sandbox's consent page, control endpoints, demo seed, pytest fixture and management command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command

from tiktok.sandbox import Sandbox
from tiktok.sandbox.demo import (
    DEMO_ACCESS_TOKEN,
    DEMO_SHOP_CIPHER,
    DEMO_SHOP_ID,
    DEMO_SKU_ID_BASE,
    DEMO_WAREHOUSE_IDS,
    seed_demo,
)
from tiktok.tests.test_sandbox import Api

ROOT = Path(__file__).resolve().parents[2]


def test_fixture_points_our_settings_at_the_sandbox(tiktok_sandbox):
    assert settings.TIKTOK_API_BASE_URL == settings.TIKTOK_AUTH_BASE_URL == tiktok_sandbox.base_url
    assert settings.TIKTOK_AUTHORIZE_URL == tiktok_sandbox.base_url + "/open/authorize"
    assert (settings.TIKTOK_APP_KEY, settings.TIKTOK_APP_SECRET, settings.TIKTOK_SERVICE_ID) == (
        "test-app-key",
        "test-app-secret",
        "test-service",
    )


def test_consent_page_authorize_and_deny_redirect_with_state(tiktok_sandbox):
    sb = tiktok_sandbox
    shop = sb.add_shop(name="Glow Lab <Official>")
    page = requests.get(sb.authorize_url, params={"service_id": "test-service", "state": "s-1"})
    assert page.status_code == 200 and "Glow Lab &lt;Official&gt;" in page.text
    assert 'value="authorize"' in page.text and 'value="deny"' in page.text and 'value="s-1"' in page.text
    assert requests.get(sb.authorize_url, params={"service_id": "wrong", "state": "s"}).status_code == 400

    form = {"service_id": "test-service", "state": "s-1", "action": "authorize"}
    answer = requests.post(sb.authorize_url, data=form, allow_redirects=False)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == sb.redirect_url
    query = parse_qs(location.query)
    assert query["state"] == ["s-1"]
    token = requests.get(
        sb.base_url + "/api/v2/token/get",
        params={
            "app_key": sb.app_key,
            "app_secret": sb.app_secret,
            "auth_code": query["code"][0],
            "grant_type": "authorized_code",
        },
    ).json()
    assert token["code"] == 0
    shops = Api(sb, token=token["data"]["access_token"]).ok(
        "GET", "/authorization/202309/shops", cipher=False
    )
    assert [s["id"] for s in shops["shops"]] == [shop["id"]]

    denied = requests.post(sb.authorize_url, data={**form, "action": "deny"}, allow_redirects=False)
    assert denied.status_code == 302
    assert parse_qs(urlsplit(denied.headers["Location"]).query) == {
        "error": ["auth_denied"],
        "state": ["s-1"],
    }


def test_control_endpoints(tiktok_sandbox):
    sb = tiktok_sandbox
    shop = sb.add_shop(name="Glow Lab")
    sku = sb.seed_catalog(shop["id"], products=2, skus_per_product=1)[0]["skus"][0]["id"]
    base = sb.base_url + "/_sandbox/"
    order = requests.post(
        base + "orders", json={"shop_id": shop["id"], "items": [{"sku_id": sku, "units": 2}]}
    )
    assert order.status_code == 200 and len(order.json()["line_items"]) == 2
    assert (
        requests.post(base + "orders", json={"shop_id": shop["id"], "items": [{"sku_id": "9"}]}).status_code
        == 400
    )
    faults = requests.post(base + "faults", json={"latency_ms": 5, "fail_5xx": 1}).json()
    assert faults["latency_ms"] == 5 and sb.faults.fail_5xx == 1
    assert requests.post(base + "faults", json={"latency_ms": -1}).status_code == 400
    assert requests.post(base + "faults", json={"bogus": 1}).status_code == 400
    sb.faults.reset()
    code = requests.post(base + "authorize", json={"shop_ids": [shop["id"]]}).json()["code"]
    assert code.startswith("TTP_")
    access = sb.tokens_for(shop["id"])["access_token"]
    assert requests.post(base + "expire_tokens").json()["expired"] >= 1
    _, envelope, _ = Api(sb, shop, access).call("GET", "/authorization/202309/shops", cipher=False)
    assert envelope["code"] == 105002
    assert requests.post(base + "scenario", json={"name": "peak", "rate_multiplier": 2}).json() == {
        "scenario": "peak"
    }
    assert requests.post(base + "scenario", json={"name": "nope"}).status_code == 400
    assert requests.post(base + "scenario", json={"name": "stop"}).json() == {"scenario": None}
    state = requests.get(base + "state").json()
    assert state["shops"] == 1 and state["products"] == 2 and state["skus"] == 2
    assert state["orders"]["AWAITING_SHIPMENT"] >= 1 and state["orders_total"] >= 1
    assert state["webhooks"]["dropped"] >= 1 and state["calls"]["/authorization/202309/shops"] == 1
    assert requests.get(base + "nothing").status_code == 404
    assert requests.post(base + "orders", data=b"{not json").status_code == 400


def test_stopped_sandbox_stops_answering_fast():
    sb = Sandbox(port=0).start()
    session = requests.Session()
    assert session.get(sb.base_url + "/_sandbox/state").status_code == 200
    sb.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(sb.base_url + "/_sandbox/state", timeout=2)


def test_demo_seed_matches_the_database_demo():
    from inventory.demo import _catalogue_rows
    from orders import demo as orders_demo

    sb = Sandbox(port=0)
    shop = seed_demo(sb)
    assert shop["id"] == DEMO_SHOP_ID == orders_demo.SHOP_ID and shop["cipher"] == DEMO_SHOP_CIPHER
    assert (
        DEMO_WAREHOUSE_IDS[0] == orders_demo.WAREHOUSE_ID
        and DEMO_SKU_ID_BASE == orders_demo.TIKTOK_SKU_ID_BASE
    )
    skus = {sku.seller_sku: sku.id for sku in sb.state.skus.values()}
    expected = sorted(row[2] for row in _catalogue_rows())
    assert sorted(skus) == expected
    assert [skus[s] for s in expected] == [str(DEMO_SKU_ID_BASE + n) for n in range(len(expected))]
    videos = list(sb.state.videos.values())
    assert len(videos) == 3 and all(v.product_ids for v in videos)
    with sb:
        api = Api(sb, shop, DEMO_ACCESS_TOKEN)
        data = api.ok("POST", "/product/202309/products/search", {"page_size": "100"}, {})
        assert data["total_count"] == len({sku.product_id for sku in sb.state.skus.values()})


@pytest.mark.parametrize(
    "options",
    [
        {"port": "abc"},
        {"port": 70000},
        {"scenario": "bogus"},
        {"webhook_url": "ftp://example.com/hook"},
        {"redirect_url": "not a url"},
        {"rate_multiplier": "0"},
    ],
)
def test_command_rejects_bad_options(options):
    with pytest.raises(CommandError):
        call_command("tiktok_sandbox", **options)


def test_command_rejects_bad_scenario_from_the_command_line():
    with pytest.raises(CommandError):
        call_command("tiktok_sandbox", "--scenario", "bogus")


def test_command_serves_until_sigterm():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "creatorflow.settings_test"}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "tiktok_sandbox",
            "--port",
            "0",
            "--scenario",
            "viral",
            "--webhook-url",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", line).group(0)
        state = requests.get(url + "/_sandbox/state", timeout=5).json()
        assert state["shops"] == 1 and state["scenario"] == "viral"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
