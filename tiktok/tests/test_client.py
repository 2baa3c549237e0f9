"""The real client against the sandbox: signing accepted, envelope read, typed errors."""

import pytest

from tiktok.client import TikTokClient
from tiktok.models import ApiCall
from tiktok.tests.connected import connect_sandbox_shop
from tiktok.wire import BadRequestError

pytestmark = pytest.mark.django_db


def test_authorized_shops_and_call_record(tiktok_sandbox):
    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    shops = TikTokClient(shop=shop).authorized_shops()
    assert sb_shop["id"] in {s["id"] for s in shops}
    call = ApiCall.objects.get()
    assert (call.path, call.code, call.http_status) == ("/authorization/202309/shops", 0, 200)
    assert call.request_id


def test_bad_parameter_is_a_typed_error(tiktok_sandbox):
    _sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    with pytest.raises(BadRequestError) as caught:
        TikTokClient(shop=shop).search_orders(page_size=500)
    assert caught.value.code == 36009004
