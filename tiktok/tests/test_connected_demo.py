"""`load_demo` connects the demo shop to the sandbox's demo seller, and the client can use it."""

import io

import pytest
from django.core.management import call_command

from tiktok.client import TikTokClient
from tiktok.models import Shop
from tiktok.sandbox import demo
from tiktok.sandbox.core import Sandbox

pytestmark = pytest.mark.django_db


def test_demo_shop_is_connected_to_the_sandbox_demo_seller(settings):
    call_command("load_demo", stdout=io.StringIO())
    call_command("load_demo", stdout=io.StringIO())  # idempotent
    shop = Shop.objects.select_related("authorization").get(shop_id=demo.DEMO_SHOP_ID)
    assert shop.is_active and shop.cipher == demo.DEMO_SHOP_CIPHER
    assert shop.authorization.access_token == demo.DEMO_ACCESS_TOKEN

    with Sandbox(
        app_key=demo.DEMO_APP_KEY, app_secret=demo.DEMO_APP_SECRET, service_id=demo.DEMO_SERVICE_ID
    ) as sb:
        demo.seed_demo(sb)
        settings.TIKTOK_APP_KEY, settings.TIKTOK_APP_SECRET = demo.DEMO_APP_KEY, demo.DEMO_APP_SECRET
        settings.TIKTOK_API_BASE_URL = sb.base_url
        products = TikTokClient(shop=shop).search_products(page_size=100)["products"]
    ours = set(shop.account.skus.values_list("seller_sku", flat=True))
    theirs = {sku["seller_sku"] for product in products for sku in product["skus"]}
    assert theirs and theirs <= ours
