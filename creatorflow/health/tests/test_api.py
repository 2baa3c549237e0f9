"""GET /api/health/ as CONTRACT.md section 3 states it, with real failures rather than mocks.

The checks are for staff (or the health token), so these tests read them as staff; what everyone
else sees is in test_privacy.py.
"""

import socket
import uuid
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connections
from django.utils import timezone
from kombu import Connection

from creatorflow.health.checks import check_celery
from creatorflow.resilience.circuit import get_breaker

from .factories import HealthCheckRecordFactory

pytestmark = pytest.mark.django_db

CHECK_KEYS = {"database", "redis", "celery", "tiktok", "carriers", "webhooks", "relay"}


@pytest.fixture(autouse=True)
def _a_relay_is_running():
    # Production runs a relay (`manage.py run_relay`); its heartbeat row is what health reads.
    from creatorflow.relay.models import RelayBeat

    now = timezone.now()
    RelayBeat.objects.create(name="test-host:1", started_at=now, beat_at=now)


@pytest.fixture(autouse=True)
def _fresh_breakers():
    # Breaker state lives in the cache, which with Redis outlives the test's transaction.
    cache.clear()
    yield
    cache.clear()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_health_has_the_contract_shape_and_is_200_when_healthy(staff_client):
    # when staff ask for health (anonymous callers get status and timestamp only: test_privacy.py)
    response = staff_client.get("/api/health/")

    # then it is 200, healthy, with exactly the contract's top-level keys and every check
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "timestamp", "checks"}
    assert body["status"] == "healthy", body
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    assert set(body["checks"]) == CHECK_KEYS
    checks = body["checks"]
    assert {"status", "latency_ms"} <= set(checks["database"])
    assert checks["database"]["status"] == "healthy" and checks["database"]["latency_ms"] >= 0
    assert "status" in checks["redis"]
    assert {"status", "queue_depth"} <= set(checks["celery"])
    assert isinstance(checks["celery"]["queue_depth"], int)
    assert {k: checks["tiktok"][k] for k in ("status", "circuit", "calls_15m", "shops")} == {
        "status": "healthy",
        "circuit": "closed",
        "calls_15m": 0,
        "shops": {},
    }
    assert checks["carriers"]["status"] == "healthy"
    assert response.headers["Cache-Control"] == "no-store"


def test_without_redis_configured_redis_is_skipped_and_status_stays_healthy(staff_client, settings):
    # given the embedded default: no Redis, a filesystem broker
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "filesystem://"

    # when
    body = staff_client.get("/api/health/").json()

    # then Redis is reported as not configured, which is not a failure
    assert body["checks"]["redis"]["status"] == "skipped"
    assert body["checks"]["redis"]["configured"] is False
    assert body["status"] == "healthy"


@pytest.fixture
def broken_database(settings):
    """A database alias pointing at a server that is not there (same engine as the real one)."""
    alias = f"health_broken_{uuid.uuid4().hex[:6]}"
    config = dict(connections["default"].settings_dict)
    if config["ENGINE"].endswith("sqlite3"):
        config["NAME"] = f"/nonexistent-{alias}/db.sqlite3"
    else:
        config.update(HOST="127.0.0.1", PORT=str(_closed_port()), OPTIONS={"connect_timeout": 2})
    connections.settings[alias] = config
    settings.HEALTH_DATABASE_ALIAS = alias
    yield alias
    connections[alias].close()
    del connections.settings[alias]


def test_health_is_503_and_unhealthy_when_the_database_is_unreachable(staff_client, broken_database):
    # when the database the check probes cannot be reached
    response = staff_client.get("/api/health/")

    # then health says unhealthy with 503, names the failing check, and still reports the others
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["status"] == "unhealthy"
    assert body["checks"]["database"]["latency_ms"] is None
    assert body["checks"]["database"]["error"]
    assert set(body["checks"]) == CHECK_KEYS


def test_health_is_503_when_configured_redis_is_down(staff_client, settings):
    # given a Redis URL where nothing listens
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    # when
    response = staff_client.get("/api/health/")

    # then
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {
        "status": "unhealthy",
        "error": "ConnectionError",
        "configured": True,
        "latency_ms": None,
    }


def test_an_open_tiktok_circuit_degrades_health_but_keeps_200(staff_client):
    # given TikTok failed five times in a row, which opens its breaker
    breaker = get_breaker("tiktok")
    for _ in range(5):
        breaker.record_failure()

    # when
    response = staff_client.get("/api/health/")

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["checks"]["tiktok"]["status"], body["checks"]["tiktok"]["circuit"]) == ("degraded", "open")
    assert body["status"] == "degraded"


def test_carrier_circuits_are_listed_and_an_open_one_degrades(staff_client):
    # given one carrier breaker in use and healthy, another opened by three failures
    good, bad = f"carrier:good{uuid.uuid4().hex[:6]}", f"carrier:bad{uuid.uuid4().hex[:6]}"
    get_breaker(good).record_success()
    for _ in range(3):
        get_breaker(bad).record_failure()

    # when
    carriers = staff_client.get("/api/health/").json()["checks"]["carriers"]

    # then
    assert carriers["circuits"][good.removeprefix("carrier:")] == "closed"
    assert carriers["circuits"][bad.removeprefix("carrier:")] == "open"
    assert carriers["status"] == "degraded"


def test_carrier_account_circuits_show_per_provider_without_naming_accounts(staff_client):
    # given two carrier accounts of one provider, one of them failing
    provider = f"prov{uuid.uuid4().hex[:6]}"
    ok_account, failing_account = uuid.uuid4(), uuid.uuid4()
    get_breaker(f"carrier:{provider}:{ok_account}").record_success()
    for _ in range(3):
        get_breaker(f"carrier:{provider}:{failing_account}").record_failure()

    # when
    carriers = staff_client.get("/api/health/").json()["checks"]["carriers"]

    # then the provider shows its worst account's state, and no account id is published
    assert carriers["circuits"][provider] == "open"
    assert carriers["open_accounts"] >= 1
    assert str(failing_account) not in str(carriers) and str(ok_account) not in str(carriers)
    assert carriers["status"] == "degraded"


def test_a_stale_health_record_means_beat_or_the_worker_stopped(staff_client):
    # given the latest record is ten minutes old
    HealthCheckRecordFactory(created_at=timezone.now() - timedelta(minutes=10))

    # when
    body = staff_client.get("/api/health/").json()

    # then the celery check is degraded and says why
    assert body["checks"]["celery"]["status"] == "degraded"
    assert "beat" in body["checks"]["celery"]["reason"]
    assert body["status"] == "degraded"


def test_filesystem_broker_queue_depth_counts_the_message_files(settings, tmp_path):
    # given the embedded default's filesystem broker with two messages on "webhooks", one on "bulk"
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(tmp_path / "control"),
    }
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    with Connection("filesystem://", transport_options=options) as conn:
        for queue, count in (("webhooks", 2), ("bulk", 1)):
            q = conn.SimpleQueue(queue)
            for i in range(count):
                q.put({"n": i})
            q.close()

    # when
    result = check_celery()

    # then
    assert result["queue_depth"] == 3
    assert result["queues"] == {"default": 0, "webhooks": 2, "integrations": 0, "bulk": 1}


@pytest.mark.redis
def test_redis_queue_depth_reflects_messages_really_pushed(staff_client, settings, redis_client):
    # given three task messages sent through Celery to the "integrations" queue on Redis
    from creatorflow.celery import app as celery_app

    settings.CELERY_BROKER_URL = settings.REDIS_URL
    with celery_app.connection_for_write(settings.REDIS_URL) as conn:
        for _ in range(3):
            celery_app.send_task("health.record_checks", queue="integrations", connection=conn)

    # when
    celery = staff_client.get("/api/health/").json()["checks"]["celery"]

    # then the depth counts them (and nothing is consumed by looking)
    assert celery["queue_depth"] == 3
    assert celery["queues"]["integrations"] == 3
    assert redis_client.llen("integrations") == 3


@pytest.mark.redis
def test_redis_check_reports_latency_when_configured(staff_client):
    redis = staff_client.get("/api/health/").json()["checks"]["redis"]
    assert redis["status"] == "healthy" and redis["configured"] is True and redis["latency_ms"] >= 0


def test_webhook_success_rate_and_latency_over_the_last_hour(staff_client):
    # given: in the last hour 19 events done within 200 ms and 1 dead; one older failure outside the window
    from datetime import timedelta

    from django.utils import timezone

    from creatorflow.inbox.models import InboundEvent

    now = timezone.now()
    for i in range(19):
        InboundEvent.objects.create(
            provider="tiktok",
            external_id=f"ok-{i}",
            event_type="1",
            body=b"{}",
            status="done",
            received_at=now - timedelta(minutes=5),
            processing_finished_at=now - timedelta(minutes=5) + timedelta(milliseconds=200),
        )
    InboundEvent.objects.create(
        provider="tiktok",
        external_id="dead",
        event_type="1",
        body=b"{}",
        status="dead",
        received_at=now - timedelta(minutes=10),
    )
    InboundEvent.objects.create(
        provider="tiktok",
        external_id="old",
        event_type="1",
        body=b"{}",
        status="dead",
        received_at=now - timedelta(hours=3),
    )

    # when
    body = staff_client.get("/api/health/").json()

    # then: 19 of 20 finished succeeded, latency is the mean, and the dead one degrades the status
    webhooks = body["checks"]["webhooks"]
    assert (webhooks["received"], webhooks["dead"], webhooks["success_rate"]) == (20, 1, 0.95)
    assert webhooks["avg_latency_ms"] == pytest.approx(200, abs=1)
    assert webhooks["status"] == "degraded" and body["status"] == "degraded"


def test_no_webhooks_yet_is_healthy(staff_client):
    webhooks = staff_client.get("/api/health/").json()["checks"]["webhooks"]
    assert webhooks["status"] == "healthy" and webhooks["success_rate"] is None


@pytest.mark.django_db
def test_tiktok_check_reports_calls_and_degrades_on_a_stale_or_failing_shop(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    from tiktok.client import TokenGrant
    from tiktok.models import ApiCall, Shop
    from tiktok.tests.factories import ShopFactory
    from tiktok.tokens import authorization_store

    now = timezone.now()
    shop = ShopFactory(last_order_sync_at=now)
    grant = TokenGrant("a", now + timedelta(days=1), "r", now + timedelta(days=9), "open-1", "S", "US", 1)
    Shop.objects.filter(pk=shop.pk).update(
        authorization=authorization_store(account=shop.account, grant=grant)
    )
    ApiCall.objects.create(shop=shop, method="GET", path="/x", code=0, latency_ms=40)
    ApiCall.objects.create(shop=shop, method="GET", path="/x", code=36009003, latency_ms=20)

    tiktok = staff_client.get("/api/health/").json()["checks"]["tiktok"]
    assert tiktok["status"] == "healthy"
    assert (tiktok["calls_15m"], tiktok["call_error_rate"], tiktok["avg_call_latency_ms"]) == (2, 0.5, 30.0)
    assert tiktok["shops"] == {"connected": 1}

    Shop.objects.filter(pk=shop.pk).update(last_order_sync_at=now - timedelta(hours=1))
    assert staff_client.get("/api/health/").json()["checks"]["tiktok"]["status"] == "degraded"
    Shop.objects.filter(pk=shop.pk).update(last_order_sync_at=now, status=Shop.Status.ERROR)
    assert staff_client.get("/api/health/").json()["checks"]["tiktok"]["status"] == "degraded"


def test_no_running_relay_degrades_health_and_says_what_to_run(staff_client):
    # given the only relay stopped a minute ago (its last heartbeat is old)
    from creatorflow.relay.models import RelayBeat

    RelayBeat.objects.update(beat_at=timezone.now() - timedelta(minutes=1))

    # when health is asked
    body = staff_client.get("/api/health/").json()

    # then it is degraded, not unhealthy (beat still sends what is due), and names the fix
    assert body["status"] == "degraded"
    assert body["checks"]["relay"]["status"] == "degraded"
    assert "run_relay" in body["checks"]["relay"]["reason"]


def test_a_relay_that_cannot_reach_the_broker_degrades_health(staff_client):
    from creatorflow.relay.models import RelayBeat

    RelayBeat.objects.update(broker_ok=False)

    relay = staff_client.get("/api/health/").json()["checks"]["relay"]

    assert relay["status"] == "degraded" and "broker" in relay["reason"]
