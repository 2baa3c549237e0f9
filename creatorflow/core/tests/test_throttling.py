"""API throttles: sliding windows in the shared Redis, narrowest scope first, 429 with Retry-After
in the JSON error shape; health and inbound webhooks are never throttled; Redis down lets requests
through."""

import copy
import time

import pytest
from django.conf import settings as django_settings

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import client_for
from creatorflow.core.throttling import parse_rate, wait_in_words

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def throttle(settings, redis_client):
    """Turn the API throttle on with the given rates (every other rate generous)."""

    def configure(*, user="1000/min", ip="1000/min", global_="1000/min", proxies=0):
        rest = copy.deepcopy(django_settings.REST_FRAMEWORK)
        rest["DEFAULT_THROTTLE_RATES"] = {"user": user, "ip": ip, "global": global_}
        settings.REST_FRAMEWORK = rest
        settings.API_THROTTLE_ENABLED = True
        settings.TRUSTED_PROXY_COUNT = proxies

    return configure


def _me(client, ip="203.0.113.1", **extra):
    return client.get("/api/me", REMOTE_ADDR=ip, **extra)


def test_a_token_over_its_rate_gets_429_with_retry_after_in_the_error_shape(throttle):
    # given a token allowed three calls a minute
    throttle(user="3/min")
    client = client_for(MembershipFactory(), api=True)

    # when it calls four times
    answers = [_me(client) for _ in range(4)]

    # then three pass and the fourth is refused with how long to wait
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Content-Type"].startswith("application/json")
    assert refused.json()["error"]["code"] == "throttled"
    assert refused.json()["error"]["message"]


def test_each_token_has_its_own_window(throttle):
    # given one token that used up its allowance
    throttle(user="2/min")
    first = client_for(MembershipFactory(), api=True)
    second = client_for(MembershipFactory(), api=True)
    assert [_me(first).status_code for _ in range(3)] == [200, 200, 429]

    # when another token calls from the same address
    # then it is not affected
    assert [_me(second).status_code for _ in range(2)] == [200, 200]


def test_refused_calls_do_not_use_up_the_wider_windows(throttle):
    # given a global allowance of five and tokens allowed two each; a noisy one called seven times
    throttle(user="2/min", global_="5/min")
    noisy, first, second, third = (client_for(MembershipFactory(), api=True) for _ in range(4))
    assert [_me(noisy, ip="198.51.100.1").status_code for _ in range(7)] == [200] * 2 + [429] * 5

    # when other callers spend the rest of the global allowance
    spent = [_me(first, ip="198.51.100.2").status_code for _ in range(2)] + [_me(second).status_code]

    # then the three places left were theirs (the noisy token's refusals took none), and no more
    assert spent == [200, 200, 200]
    over = _me(third, ip="198.51.100.3")
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "throttled"


def test_an_address_is_limited_across_its_tokens(throttle):
    # given an address allowed four calls a minute
    throttle(ip="4/min")
    tokens = [client_for(MembershipFactory(), api=True) for _ in range(3)]

    # when three tokens call from it
    answers = [_me(tokens[n % 3], ip="192.0.2.10").status_code for n in range(5)]

    # then the fifth is refused, while another address is not
    assert answers == [200, 200, 200, 200, 429]
    assert _me(tokens[0], ip="192.0.2.11").status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_client_is_the_address(throttle):
    # given one trusted proxy in front of us, and an address allowed two calls
    throttle(ip="2/min", proxies=1)
    client = client_for(MembershipFactory(), api=True)
    proxy = "10.0.0.2"

    # when one client behind the proxy uses up its window
    busy = [_me(client, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.50").status_code for _ in range(3)]

    # then another client behind the same proxy is still served
    assert busy == [200, 200, 429]
    assert _me(client, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.51").status_code == 200


def test_the_global_window_holds_for_everyone_together(throttle):
    # given a global allowance of three
    throttle(global_="3/min")
    clients = [client_for(MembershipFactory(), api=True) for _ in range(4)]

    # when four callers from four addresses call once each
    answers = [_me(c, ip=f"198.51.100.{n + 10}").status_code for n, c in enumerate(clients)]

    # then the fourth is refused
    assert answers == [200, 200, 200, 429]


def test_a_signed_in_browser_session_is_limited_like_a_token(throttle):
    # given a creator signed in on the dashboard, allowed two API calls
    throttle(user="2/min")
    client = client_for(MembershipFactory())

    # when / then
    assert [_me(client).status_code for _ in range(3)] == [200, 200, 429]


def test_the_window_slides_and_retry_after_is_honest(throttle):
    # given a token allowed two calls in any two seconds, refused on the third
    throttle(user="2/2s")
    client = client_for(MembershipFactory(), api=True)
    assert [_me(client).status_code for _ in range(2)] == [200, 200]
    refused = _me(client)
    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 2

    # when the caller waits as long as it was told
    time.sleep(retry_after + 0.05)

    # then it is served again
    assert _me(client).status_code == 200


def test_health_is_never_throttled(throttle):
    # given a global allowance of one call a minute, already spent
    throttle(global_="1/min")
    client = client_for(MembershipFactory(), api=True)
    assert [_me(client).status_code for _ in range(2)] == [200, 429]

    # when a monitor polls health (anonymously) several times
    answers = [client.get("/api/health/", REMOTE_ADDR="203.0.113.1").status_code for _ in range(5)]

    # then it is answered every time
    assert 429 not in answers


def test_inbound_webhooks_are_not_throttled(throttle, client):
    # given a spent global allowance
    throttle(global_="1/min", ip="1/min")
    api = client_for(MembershipFactory(), api=True)
    assert [_me(api).status_code for _ in range(2)] == [200, 429]

    # when a platform sends a burst (unsigned here: refused for the signature, never for the rate)
    answers = [
        client.post(
            "/webhooks/tiktok/", data=b"{}", content_type="application/json", REMOTE_ADDR="203.0.113.1"
        )
        for _ in range(5)
    ]

    # then none is a 429
    assert all(a.status_code != 429 for a in answers)
    assert all(400 <= a.status_code < 500 for a in answers)


def test_with_redis_down_the_api_still_answers(throttle, settings):
    # given throttles on and a shared store that does not answer (nothing listens on port 1)
    throttle(user="1/min")
    client = client_for(MembershipFactory(), api=True)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    # when / then: requests go through rather than failing with the store
    assert [_me(client).status_code for _ in range(3)] == [200, 200, 200]


def test_with_the_throttle_off_nothing_is_counted(settings, redis_client):
    # given the throttle switched off with a tiny rate configured
    rest = copy.deepcopy(django_settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {"user": "1/min", "ip": "1/min", "global": "1/min"}
    settings.REST_FRAMEWORK = rest
    settings.API_THROTTLE_ENABLED = False
    client = client_for(MembershipFactory(), api=True)

    # when / then
    assert [_me(client).status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("100/min", (100, 60.0)),
        ("500/minute", (500, 60.0)),
        ("1000/m", (1000, 60.0)),
        ("3/hour", (3, 3600.0)),
        ("5/10s", (5, 10.0)),
        ("7/day", (7, 86400.0)),
        (" 2 / 2 s ", (2, 2.0)),
    ],
)
def test_rates_read_like_drfs(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["100", "ten/min", "0/min", "5/0s", "5/fortnight", "-1/min"])
def test_a_malformed_rate_is_a_configuration_error(rate):
    with pytest.raises(ValueError):
        parse_rate(rate)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.2, "a few seconds"),
        (9.5, "a few seconds"),
        (42, "42 seconds"),
        (61, "2 minutes"),
        (60, "1 minute"),
        (3599, "1 hour"),
        (3601, "2 hours"),
        (3600, "1 hour"),
    ],
)
def test_waits_in_words(seconds, words):
    assert wait_in_words(seconds) == words
