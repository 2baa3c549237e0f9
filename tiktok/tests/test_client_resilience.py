"""The client's resilience against a misbehaving TikTok (the sandbox's faults): retries with backoff
honouring Retry-After, token refresh on 105002 (once for concurrent callers), the circuit breaker
opening and recovering, and the shared rate limit under a burst."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection, connections

from creatorflow.resilience import circuit
from creatorflow.resilience.circuit import CircuitBreaker, CircuitOpenError
from tiktok.client import BREAKER, RETRY, TikTokClient
from tiktok.models import ApiCall, ShopAuthorization
from tiktok.tests.connected import connect_sandbox_shop
from tiktok.wire import ServerError, TransportTimeout

SHOPS_PATH = "/authorization/202309/shops"
REFRESH_PATH = "/api/v2/token/refresh"
BREAKER_KEYS = [f"cb:v1:{BREAKER}:failures", f"cb:v1:{BREAKER}:opened_at", f"cb:v1:{BREAKER}:trial"]


class FakeClock:
    """Wall-clock seconds the test moves by hand (the breaker takes `clock=`)."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def closed_breaker(db):
    """The breaker's state is shared through the cache: start and leave every test with it closed."""
    cache.delete_many(BREAKER_KEYS)
    yield circuit.get_breaker(BREAKER)
    cache.delete_many(BREAKER_KEYS)


@pytest.fixture
def shop(tiktok_sandbox, closed_breaker):
    _sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    return shop


def calls_to(sandbox, path: str) -> list:
    return [c for c in sandbox.calls if c.path == path]


def test_429_twice_then_success_backs_off_at_least_retry_after(tiktok_sandbox, shop, closed_breaker):
    tiktok_sandbox.faults.fail_429 = 2
    sleeps: list[float] = []

    shops = TikTokClient(shop=shop, sleep=sleeps.append).authorized_shops()

    assert shop.shop_id in {s["id"] for s in shops}
    assert [c.code for c in calls_to(tiktok_sandbox, SHOPS_PATH)] == [36009002, 36009002, 0]
    assert len(sleeps) == 2
    assert all(wait >= 1.0 for wait in sleeps)  # the sandbox said Retry-After: 1
    assert closed_breaker.state() == "closed"  # a rate limit is not an outage


def test_5xx_then_success_retries_after_a_jittered_backoff(tiktok_sandbox, shop, closed_breaker):
    tiktok_sandbox.faults.fail_5xx = 1
    sleeps: list[float] = []

    TikTokClient(shop=shop, sleep=sleeps.append).authorized_shops()

    assert [c.http_status for c in calls_to(tiktok_sandbox, SHOPS_PATH)] == [500, 200]
    assert len(sleeps) == 1
    assert RETRY.base_seconds / 2 <= sleeps[0] <= RETRY.base_seconds
    assert closed_breaker.failures() == 0  # the success reset the count


def test_retries_exhausted_raise_server_error(tiktok_sandbox, shop, closed_breaker):
    tiktok_sandbox.faults.fail_5xx = 100
    sleeps: list[float] = []

    with pytest.raises(ServerError) as caught:
        TikTokClient(shop=shop, sleep=sleeps.append).authorized_shops()

    assert caught.value.code == 36009003
    assert len(calls_to(tiktok_sandbox, SHOPS_PATH)) == RETRY.max_attempts
    assert len(sleeps) == RETRY.max_attempts - 1
    assert all(wait <= RETRY.cap_seconds for wait in sleeps)
    assert closed_breaker.failures() == RETRY.max_attempts


def _raw_tokens(authorization_pk) -> tuple[str, str]:
    table = ShopAuthorization._meta.db_table
    pk = ShopAuthorization._meta.pk.get_db_prep_value(authorization_pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT access_token, refresh_token FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()


@pytest.mark.django_db
def test_an_expired_token_is_refreshed_once_stored_encrypted_and_the_call_succeeds(tiktok_sandbox, shop):
    old = ShopAuthorization.objects.get(pk=shop.authorization_id)
    tiktok_sandbox.expire_access_tokens()

    shops = TikTokClient(shop=shop, sleep=lambda s: None).authorized_shops()

    assert shop.shop_id in {s["id"] for s in shops}
    assert [c.code for c in calls_to(tiktok_sandbox, SHOPS_PATH)] == [105002, 0]
    assert len(calls_to(tiktok_sandbox, REFRESH_PATH)) == 1
    new = ShopAuthorization.objects.get(pk=shop.authorization_id)
    assert new.access_token != old.access_token and new.refresh_token != old.refresh_token
    assert new.refreshed_at is not None
    raw_access, raw_refresh = _raw_tokens(new.pk)
    assert new.access_token not in raw_access and new.refresh_token not in raw_refresh


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_callers_with_an_expired_token_refresh_it_once(tiktok_sandbox, shop):
    # given a token both TikTok and we know to have lapsed
    tiktok_sandbox.expire_access_tokens()
    ShopAuthorization.objects.filter(pk=shop.authorization_id).update(
        access_token_expires_at=shop.authorization.access_token_expires_at.replace(year=2000)
    )
    start = threading.Barrier(2)
    results, errors = [], []

    def caller():
        try:
            mine = type(shop).objects.select_related("authorization").get(pk=shop.pk)
            start.wait(timeout=10)
            results.append(TikTokClient(shop=mine, sleep=lambda s: None).authorized_shops())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    # when two workers call at the same moment
    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # then both succeed on one refresh
    assert errors == []
    assert len(results) == 2
    assert len(calls_to(tiktok_sandbox, REFRESH_PATH)) == 1
    assert {c.code for c in calls_to(tiktok_sandbox, SHOPS_PATH)} == {0}


def test_the_breaker_opens_after_5_failures_fails_fast_and_recovers_after_its_timeout(
    tiktok_sandbox, shop, monkeypatch
):
    # given TikTok's breaker (5 failures -> open 60 s) on a clock the test moves
    clock = FakeClock(1_700_000_000.0)
    config = circuit.config_for(BREAKER)
    breaker = CircuitBreaker(
        BREAKER, failure_threshold=config.failure_threshold, reset_timeout=config.reset_timeout, clock=clock
    )
    monkeypatch.setitem(circuit._breakers, BREAKER, breaker)
    client = TikTokClient(shop=shop, sleep=lambda s: None)
    tiktok_sandbox.faults.fail_5xx = 100

    # when TikTok fails five times (four attempts of one call, the first of the next)
    with pytest.raises(ServerError):
        client.authorized_shops()
    with pytest.raises(CircuitOpenError):
        client.authorized_shops()
    assert (breaker.state(), len(calls_to(tiktok_sandbox, SHOPS_PATH))) == ("open", 5)

    # then further calls fail fast without reaching TikTok
    for _ in range(3):
        with pytest.raises(CircuitOpenError) as refused:
            client.authorized_shops()
    assert refused.value.retry_after == pytest.approx(60)
    assert len(calls_to(tiktok_sandbox, SHOPS_PATH)) == 5

    # and after the timeout, with TikTok back, one trial call closes it again
    tiktok_sandbox.faults.fail_5xx = 0
    clock.now += 59
    with pytest.raises(CircuitOpenError):
        client.authorized_shops()
    clock.now += 2
    assert breaker.state() == "half_open"
    assert client.authorized_shops()
    assert breaker.state() == "closed"
    assert client.authorized_shops()
    assert len(calls_to(tiktok_sandbox, SHOPS_PATH)) == 7


def test_a_hanging_tiktok_is_asked_twice_at_most_then_the_call_fails_fast(
    tiktok_sandbox, shop, closed_breaker, settings
):
    # given a TikTok that takes a second to answer, and a read timeout of 0.2 s
    settings.TIKTOK_READ_TIMEOUT_S = 0.2
    tiktok_sandbox.faults.latency_ms = 1000
    sleeps: list[float] = []

    # when a call is made
    with pytest.raises(TransportTimeout):
        TikTokClient(shop=shop, sleep=sleeps.append).authorized_shops()

    # then it was sent twice (one inline retry after a timeout, not RETRY.max_attempts), both counted
    # against the breaker
    attempts = ApiCall.objects.filter(path=SHOPS_PATH)
    assert attempts.count() == 2 < RETRY.max_attempts
    assert len(sleeps) == 1
    assert closed_breaker.failures() == 2


def test_a_failed_trial_reopens_the_breaker(tiktok_sandbox, shop, monkeypatch):
    clock = FakeClock(1_700_000_000.0)
    breaker = CircuitBreaker(BREAKER, failure_threshold=5, reset_timeout=60, clock=clock)
    monkeypatch.setitem(circuit._breakers, BREAKER, breaker)
    client = TikTokClient(shop=shop, sleep=lambda s: None)
    tiktok_sandbox.faults.fail_5xx = 100
    for expected in (ServerError, CircuitOpenError):
        with pytest.raises(expected):
            client.authorized_shops()

    clock.now += 61
    with pytest.raises(CircuitOpenError):  # the trial fails and the breaker opens again at once
        client.authorized_shops()

    assert breaker.state() == "open"
    assert len(calls_to(tiktok_sandbox, SHOPS_PATH)) == 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_shared_rate_limit_keeps_a_burst_under_tiktoks_limit(tiktok_sandbox, shop):
    # given 4 workers making 120 calls to one path of one shop as fast as they can
    sb_order = tiktok_sandbox.create_order
    product = tiktok_sandbox.add_product(
        shop.shop_id, title="Lip Oil", skus=[{"seller_sku": "L1", "quantity": 9}]
    )
    order_id = sb_order(shop.shop_id, [(product["skus"][0]["id"], 1)], notify=False)["id"]
    start = threading.Barrier(4)
    fetched, errors = [], []

    def worker():
        try:
            mine = type(shop).objects.select_related("authorization").get(pk=shop.pk)
            client = TikTokClient(shop=mine)
            start.wait(timeout=10)
            for _ in range(30):
                fetched.append(client.get_orders([order_id]))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # then every call succeeded and TikTok (which answers 429 to a 51st request in any one second)
    # never had to refuse one: the shared window held across the four workers
    assert errors == []
    assert len(fetched) == 120 and all(docs[0]["id"] == order_id for docs in fetched)
    answers = [c for c in tiktok_sandbox.calls if c.template == "/order/202309/orders"]
    assert [c.http_status for c in answers if c.http_status == 429] == []
    assert len(answers) == 120
