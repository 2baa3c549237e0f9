"""The signature vectors of CONTRACT.md §4, checked against our one implementation."""

from tiktok.signing import api_sign, signatures_match, webhook_sign

WEBHOOK_BODY = (
    b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
    b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
    b'"order_status":"UNPAID","update_time":1718305585}}'
)


def test_shops_call_vector():
    sign = api_sign(
        app_secret="e59af819cc",
        path="/authorization/202309/shops",
        params={"app_key": "29a39d", "timestamp": "1623812664"},
    )
    assert sign == "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"


def test_plain_call_vector():
    assert (
        api_sign(app_secret="app_secret", path="/test-api", params={"foo": "bar"})
        == "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"
    )


def test_webhook_vector():
    assert (
        webhook_sign(app_key="abcdef", app_secret="123", body=WEBHOOK_BODY)
        == "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"
    )


def test_sign_and_access_token_are_not_signed_and_order_of_params_does_not_matter():
    base = api_sign(app_secret="s", path="/p", params={"b": "2", "a": "1"}, body=b"{}")
    assert base == api_sign(
        app_secret="s", path="/p", params={"a": "1", "b": "2", "sign": "x", "access_token": "t"}, body=b"{}"
    )
    assert base != api_sign(app_secret="s", path="/p", params={"a": "1", "b": "2"}, body=b"{ }")
    assert base != api_sign(app_secret="s", path="/q", params={"a": "1", "b": "2"}, body=b"{}")


def test_signatures_match_rejects_missing_and_different():
    assert signatures_match("abc", " abc ")
    assert not signatures_match("abc", None)
    assert not signatures_match("abc", "abd")
    assert not signatures_match("", "")
    assert not signatures_match("abc", "é")
