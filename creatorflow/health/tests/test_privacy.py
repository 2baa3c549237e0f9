"""Who sees what of the health endpoints (CONTRACT.md section 3).

Everyone gets `status` and `timestamp` with the real HTTP code (a load balancer needs no
credential); the checks and metrics, which count every account's shops, calls, SKUs and queued
work, need a staff session or `Authorization: Bearer <HEALTH_TOKEN>`. The dashboard's health panel
shows a creator the check states but no count over other accounts.
"""

import re
import socket
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import client_for
from creatorflow.health.facade import may_see_health_details

from .factories import HealthCheckRecordFactory

pytestmark = pytest.mark.django_db

HEALTH = "/api/health/"
INVENTORY_HEALTH = "/api/health/inventory"
PATHS = [HEALTH, INVENTORY_HEALTH]
FULL_KEYS = {
    HEALTH: {"status", "timestamp", "checks"},
    INVENTORY_HEALTH: {"status", "timestamp", "checks", "metrics"},
}
PUBLIC_KEYS = {"status", "timestamp"}
TOKEN = "health-" + uuid.uuid4().hex


@pytest.fixture(autouse=True)
def _a_relay_is_running():
    from creatorflow.relay.models import RelayBeat

    now = timezone.now()
    RelayBeat.objects.create(name="test-host:1", started_at=now, beat_at=now)


@pytest.fixture(autouse=True)
def _fresh_breakers_and_a_token(settings):
    cache.clear()
    settings.HEALTH_TOKEN = TOKEN
    yield
    cache.clear()


@pytest.fixture
def redis_down(settings):
    """A configured Redis where nothing listens: both endpoints' redis check fails, so 503."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"


def _anonymous():
    return Client()


def _creator():
    return client_for(MembershipFactory(role="owner"))


def _creator_with_api_token():
    return client_for(MembershipFactory(role="owner"), api=True)


def _wrong_token():
    return Client(headers={"Authorization": f"Bearer {TOKEN}x"})


def _token_in_another_scheme():
    return Client(headers={"Authorization": f"Token {TOKEN}"})


def _right_token():
    return Client(headers={"Authorization": f"Bearer {TOKEN}"})


OUTSIDERS = {
    "anonymous": _anonymous,
    "creator (session)": _creator,
    "creator (API token)": _creator_with_api_token,
    "wrong bearer token": _wrong_token,
    "token without Bearer": _token_in_another_scheme,
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("who", OUTSIDERS, ids=str)
def test_outsiders_get_only_status_and_timestamp_with_the_same_code_as_staff(path, who, staff_client):
    # when staff and an outsider ask the same endpoint
    full = staff_client.get(path)
    public = OUTSIDERS[who]().get(path)

    # then the outsider gets only the top-level status and timestamp, with staff's HTTP code
    assert set(full.json()) == FULL_KEYS[path]
    assert set(public.json()) == PUBLIC_KEYS
    assert public.status_code == full.status_code == 200
    assert public.json()["status"] == full.json()["status"]
    assert public["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("who", OUTSIDERS, ids=str)
def test_an_unhealthy_service_is_503_for_outsiders_too(path, who, staff_client, redis_down):
    # when a check fails
    full = staff_client.get(path)
    public = OUTSIDERS[who]().get(path)

    # then both audiences get 503 and "unhealthy"; only staff see which check failed
    assert full.status_code == public.status_code == 503
    assert full.json()["status"] == public.json()["status"] == "unhealthy"
    assert full.json()["checks"]["redis"]["status"] == "unhealthy"
    assert set(public.json()) == PUBLIC_KEYS


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("unhealthy", [False, True], ids=["healthy", "unhealthy"])
def test_the_health_token_sees_everything_staff_see(path, unhealthy, staff_client, request):
    if unhealthy:
        request.getfixturevalue("redis_down")

    # when a monitor sends the configured token, with no session
    response = _right_token().get(path)

    # then it gets the full body and the same code as staff
    assert set(response.json()) == FULL_KEYS[path]
    assert response.status_code == staff_client.get(path).status_code == (503 if unhealthy else 200)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("header", ["Bearer ", "Bearer", "Bearer  ", f"Bearer {TOKEN}"])
def test_an_empty_configured_token_never_matches(path, header, settings):
    # given no HEALTH_TOKEN is configured (the default)
    settings.HEALTH_TOKEN = ""

    # when a caller sends an empty (or any) bearer token
    response = Client(headers={"Authorization": header}).get(path)

    # then it is an outsider
    assert set(response.json()) == PUBLIC_KEYS


def test_the_predicate_on_plain_requests(rf, settings):
    from django.contrib.auth.models import AnonymousUser

    from accounts.tests.factories import UserFactory

    def ask(header=None, user=None):
        request = rf.get(HEALTH, headers={"Authorization": header} if header else {})
        request.user = user or AnonymousUser()
        return may_see_health_details(request)

    assert ask(f"Bearer {TOKEN}") and ask(f"bearer {TOKEN}")
    assert not ask() and not ask(f"Bearer {TOKEN[:-1]}") and not ask(TOKEN)
    assert ask(user=UserFactory(is_staff=True))
    assert not ask(user=UserFactory(is_staff=False))
    assert not ask(user=UserFactory(is_staff=True, is_active=False))
    settings.HEALTH_TOKEN = ""
    assert not ask("Bearer ") and not ask(f"Bearer {TOKEN}")


def test_staff_see_the_full_checks_of_both_endpoints(staff_client):
    assert set(staff_client.get(HEALTH).json()["checks"]) >= {"database", "redis", "celery", "tiktok"}
    inventory = staff_client.get(INVENTORY_HEALTH).json()
    assert set(inventory["checks"]) == {"database", "tiktokAPI", "redis", "messageQueue"}
    assert set(inventory["metrics"]) == {"syncedProducts", "pendingJobs", "lastSyncTime"}


def test_no_figure_of_other_accounts_reaches_an_outsider():
    # given another account's SKUs (the inventory metrics count every account's)
    from inventory.tests.factories import stocked_sku

    stocked_sku()
    stocked_sku()

    # when a creator of an unrelated account asks both endpoints
    creator = _creator()
    bodies = [creator.get(path).json() for path in PATHS]

    # then no checks, metrics, broker type or counts are in them
    for body in bodies:
        assert set(body) == PUBLIC_KEYS
        text = str(body)
        for word in ("checks", "metrics", "broker", "queue", "shops", "calls", "syncedProducts"):
            assert word not in text


# --- the dashboard's health panel -------------------------------------------------------------------


@pytest.fixture
def busy_record():
    """A recorded run whose details count every account's traffic."""
    record = HealthCheckRecordFactory(status="degraded")
    record.checks.update(
        celery={"status": "healthy", "queue_depth": 4321, "broker": "redis"},
        tiktok={"status": "healthy", "circuit": "closed", "calls_15m": 987, "call_error_rate": 0.25},
        webhooks={"status": "degraded", "success_rate": 0.9, "avg_latency_ms": 12.0, "dead": 55},
    )
    record.save()
    return record


def _panel(client) -> str:
    html = client.get("/dashboard/health/", headers={"HX-Request": "true"}).content.decode()
    return re.search(r'<section id="health-panel".*?</section>', html, re.S).group(0)


def test_the_dashboard_panel_shows_a_creator_states_but_no_platform_counts(busy_record):
    # when a creator's dashboard polls the panel
    panel = _panel(_creator())

    # then it shows every check's state and the TikTok circuit, but none of the cross-account counts
    assert 'badge-degraded">degraded' in panel
    for label in ("Database", "Background jobs", "TikTok Shop API", "Webhooks (last hour)"):
        assert label in panel
    assert "circuit closed" in panel
    for count in ("4321", "987", "55 dead", "90.0%", "25%"):
        assert count not in panel


def test_the_dashboard_panel_shows_staff_the_counts(busy_record, staff_client):
    panel = _panel(staff_client)
    assert "4321 queued" in panel and "987 calls" in panel and "55 dead" in panel
