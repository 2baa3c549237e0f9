"""The health checks behind `GET /api/health/` and the recorded history.

Each check returns a plain dict with at least a ``status`` of ``healthy``, ``degraded``,
``unhealthy`` or ``skipped`` (not configured here, so it says nothing about health). A check never
raises: whatever goes wrong is reported as the check's result, so the endpoint can never become a
500 because of the thing it is meant to report on. Checks are cheap (one round trip each, short
timeouts) because load balancers call the endpoint every few seconds.

The overall status is the worst of the checks: any ``unhealthy`` makes it unhealthy (HTTP 503),
any ``degraded`` makes it degraded; ``skipped`` counts for nothing, so the embedded default (no
Redis) is healthy.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections

from creatorflow.resilience.circuit import get_breaker, known_breakers

logger = logging.getLogger(__name__)

HEALTHY = "healthy"
DEGRADED = "degraded"
UNHEALTHY = "unhealthy"
SKIPPED = "skipped"

# The Celery queues we run workers for (settings.CELERY_QUEUES mirrors celery.py).
DEFAULT_QUEUES = ("default", "webhooks", "integrations", "bulk")
# Kombu's Redis transport keeps one list per priority step: "<queue>" and "<queue>\x06\x16<n>".
REDIS_PRIORITY_SEP = "\x06\x16"
REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
# Carrier circuit breakers are named "carrier:<name>" (creatorflow.resilience.circuit).
CARRIER_PREFIX = "carrier:"

_RANK = {SKIPPED: 0, HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _failure(exc: BaseException) -> dict:
    # The endpoint is public: name the error class only, never a message that may carry a host
    # name or a credential from a connection string.
    logger.warning("health check failed: %r", exc)
    return {"status": UNHEALTHY, "error": type(exc).__name__}


# --- database -------------------------------------------------------------------------------------


def check_database() -> dict:
    """`SELECT 1` on the connection named by HEALTH_DATABASE_ALIAS (default "default")."""
    alias = getattr(settings, "HEALTH_DATABASE_ALIAS", "default")
    start = time.perf_counter()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        result = _failure(exc)
        result["latency_ms"] = None
        return result
    latency = _ms(start)
    slow = float(getattr(settings, "HEALTH_DATABASE_SLOW_MS", 500))
    return {"status": DEGRADED if latency > slow else HEALTHY, "latency_ms": latency}


# --- redis ----------------------------------------------------------------------------------------


def _redis_client(url: str):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # One try with a short timeout: a health probe that retries hides the outage it should report.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0))


def check_redis() -> dict:
    """PING on REDIS_URL; skipped when no Redis is configured (the embedded default)."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return {"status": SKIPPED, "configured": False, "latency_ms": None}
    start = time.perf_counter()
    try:
        client = _redis_client(url)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        result = _failure(exc)
        result.update(configured=True, latency_ms=None)
        return result
    return {"status": HEALTHY, "configured": True, "latency_ms": _ms(start)}


# --- celery ---------------------------------------------------------------------------------------


def _queue_names() -> tuple[str, ...]:
    return tuple(getattr(settings, "CELERY_QUEUES", DEFAULT_QUEUES))


def _redis_queue_depths(broker_url: str) -> dict[str, int]:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    prefix = options.get("global_keyprefix", "")
    steps = options.get("priority_steps", REDIS_PRIORITY_STEPS)
    queues = _queue_names()
    client = _redis_client(broker_url)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                for step in steps:
                    key = queue if not step else f"{queue}{REDIS_PRIORITY_SEP}{step}"
                    pipe.llen(prefix + key)
            sizes = pipe.execute()
    finally:
        client.close()
    per_step = len(steps)
    return {queue: sum(sizes[i * per_step : (i + 1) * per_step]) for i, queue in enumerate(queues)}


def _filesystem_queue_depths() -> dict[str, int]:
    """Count message files per queue: kombu names them ``<ms>_<uuid>.<queue>.msg``."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    folder = options.get("data_folder_in")
    depths = dict.fromkeys(_queue_names(), 0)
    if not folder or not Path(folder).is_dir():
        return depths  # nothing was ever queued
    for entry in os.scandir(folder):
        queue_part = entry.name.partition(".")[2]
        if queue_part.endswith(".msg"):
            queue = queue_part[: -len(".msg")]
            if queue in depths:
                depths[queue] += 1
    return depths


def check_celery() -> dict:
    """Messages waiting in each worker queue; degraded above HEALTH_QUEUE_DEPTH_WARN in total."""
    broker_url = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    try:
        if broker_url.startswith(("redis://", "rediss://", "unix://")):
            broker, depths = "redis", _redis_queue_depths(broker_url)
        elif broker_url.startswith("filesystem://"):
            broker, depths = "filesystem", _filesystem_queue_depths()
        else:
            return {"status": SKIPPED, "queue_depth": None, "reason": "unsupported broker"}
    except Exception as exc:
        result = _failure(exc)
        result["queue_depth"] = None
        return result
    total = sum(depths.values())
    limit = int(getattr(settings, "HEALTH_QUEUE_DEPTH_WARN", 1000))
    result = {
        "status": DEGRADED if total > limit else HEALTHY,
        "queue_depth": total,
        "queues": depths,
        "broker": broker,
    }
    # Beat records a row every 30 s through a worker: an old latest row means beat or the workers
    # stopped, which queue depth alone cannot show (an idle, dead worker has an empty queue too).
    age = _last_record_age_seconds()
    result["last_record_age_s"] = age
    if age is not None and age > float(getattr(settings, "HEALTH_RECORD_STALE_SECONDS", 300)):
        result["status"] = DEGRADED
        result["reason"] = "no health record recently: are the Celery worker and beat running?"
    return result


def _last_record_age_seconds() -> float | None:
    """Seconds since the latest recorded run, or None when there is none (or no database)."""
    from .models import HealthCheckRecord

    try:
        latest = (
            HealthCheckRecord.objects.order_by("-created_at").values_list("created_at", flat=True).first()
        )
    except Exception:  # the database check reports database trouble
        return None
    if latest is None:
        return None
    return round((datetime.now(UTC) - latest).total_seconds(), 1)


# --- circuit breakers -------------------------------------------------------------------------------


def _circuit_status(state: str) -> str:
    # An open circuit means calls to that platform are being refused for a while: we keep
    # working (orders queue up, carriers fail over), so it degrades rather than fails us.
    return HEALTHY if state == "closed" else DEGRADED


TIKTOK_CALL_WINDOW = timedelta(minutes=15)
# The order poll runs every 2 minutes: a shop not polled for this long has a stuck or failing sync.
TIKTOK_SYNC_STALE = timedelta(minutes=15)


def check_tiktok() -> dict:
    """The TikTok circuit, the API calls of the last 15 minutes and how current the shops' syncs are.

    Degraded (never unhealthy: orders wait and the poll catches up) when the circuit is not closed,
    a connected shop is in error, or a connected shop's order poll is older than TIKTOK_SYNC_STALE.
    """
    from django.db.models import Avg, Count, Min, Q

    from tiktok.models import ApiCall, Shop

    try:
        state = str(get_breaker("tiktok").state())
        now = datetime.now(UTC)
        calls = ApiCall.objects.filter(created_at__gte=now - TIKTOK_CALL_WINDOW).aggregate(
            total=Count("pk"),
            failed=Count("pk", filter=~Q(code=0) | Q(code__isnull=True)),
            latency=Avg("latency_ms"),
        )
        shops = Shop.objects.exclude(status=Shop.Status.DISCONNECTED).filter(authorization__isnull=False)
        by_status = dict(shops.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        oldest_sync = shops.aggregate(oldest=Min("last_order_sync_at"))["oldest"]
    except Exception as exc:
        result = _failure(exc)
        result["circuit"] = "unknown"
        return result
    stale = bool(by_status) and (oldest_sync is None or oldest_sync < now - TIKTOK_SYNC_STALE)
    degraded = state != "closed" or by_status.get(Shop.Status.ERROR, 0) > 0 or stale
    return {
        "status": DEGRADED if degraded else HEALTHY,
        "circuit": state,
        "calls_15m": calls["total"],
        "call_error_rate": round(calls["failed"] / calls["total"], 4) if calls["total"] else None,
        "avg_call_latency_ms": round(calls["latency"], 1) if calls["latency"] is not None else None,
        "shops": by_status,
        "oldest_order_sync": oldest_sync.isoformat() if oldest_sync else None,
    }


_CIRCUIT_RANK = {"closed": 0, "half_open": 1, "open": 2}


def check_carriers() -> dict:
    """Circuit state per carrier provider ("carrier:<provider>[:<carrier account>]" breakers; the
    worst account's state is the provider's, so the public endpoint names no account); degraded if
    any is not closed. `open_accounts` counts the carrier accounts whose circuit is not closed."""
    try:
        circuits: dict[str, str] = {}
        open_accounts = 0
        for name in known_breakers():
            if not name.startswith(CARRIER_PREFIX):
                continue
            provider = name.removeprefix(CARRIER_PREFIX).split(":", 1)[0]
            state = str(get_breaker(name).state())
            open_accounts += state != "closed"
            if _CIRCUIT_RANK.get(state, 0) >= _CIRCUIT_RANK.get(circuits.get(provider, "closed"), 0):
                circuits[provider] = state
    except Exception as exc:
        result = _failure(exc)
        result["circuits"] = {}
        return result
    worst = max((_circuit_status(s) for s in circuits.values()), key=_RANK.__getitem__, default=HEALTHY)
    return {"status": worst, "circuits": circuits, "open_accounts": open_accounts}


# --- webhooks -------------------------------------------------------------------------------------

WEBHOOK_WINDOW = timedelta(hours=1)
# Below this many finished events a rate says little; one failure in three is not an incident.
WEBHOOK_MIN_SAMPLE = 10
WEBHOOK_MIN_SUCCESS_RATE = 0.95


def check_webhooks() -> dict:
    """Success rate and mean processing latency of webhooks received in the last hour.

    Degraded when an event went dead in the window (it needs a person) or, over a meaningful
    sample, fewer than 95% of finished events succeeded. Never unhealthy: events wait, none is lost.
    """
    from creatorflow.inbox.facade import webhook_stats

    try:
        stats = webhook_stats(since=datetime.now(UTC) - WEBHOOK_WINDOW)
    except Exception as exc:
        return _failure(exc)
    finished = stats.done + stats.failed + stats.dead
    low_rate = finished >= WEBHOOK_MIN_SAMPLE and (stats.success_rate or 0) < WEBHOOK_MIN_SUCCESS_RATE
    return {
        "status": DEGRADED if stats.dead or low_rate else HEALTHY,
        "window_s": int(WEBHOOK_WINDOW.total_seconds()),
        "received": stats.received,
        "success_rate": stats.success_rate,
        "failed": stats.failed,
        "dead": stats.dead,
        "avg_latency_ms": stats.avg_latency_ms,
    }


# --- relay ----------------------------------------------------------------------------------------

# A relay records its heartbeat every 5 s: none this recent means no relay process is running.
RELAY_STALE = timedelta(seconds=30)


def check_relay() -> dict:
    """Whether a relay is sending (creatorflow.relay): degraded when none has beaten recently or the
    last one could not reach the broker. Never unhealthy: beat sends what is due every 30-60 s, so
    work is only slower, and the webhook and API answers do not depend on it."""
    from creatorflow.relay.models import RelayBeat

    try:
        now = datetime.now(UTC)
        live = list(
            RelayBeat.objects.filter(beat_at__gte=now - RELAY_STALE).values_list("broker_ok", flat=True)
        )
    except Exception as exc:
        return _failure(exc)
    if not live:
        return {"status": DEGRADED, "relays": 0, "reason": "no relay is running: run `manage.py run_relay`"}
    if not any(live):
        return {"status": DEGRADED, "relays": len(live), "reason": "the relay cannot reach the broker"}
    return {"status": HEALTHY, "relays": len(live)}


# --- all together ---------------------------------------------------------------------------------

CHECKS: dict[str, Callable[[], dict]] = {
    "database": check_database,
    "redis": check_redis,
    "celery": check_celery,
    "tiktok": check_tiktok,
    "carriers": check_carriers,
    "webhooks": check_webhooks,
    "relay": check_relay,
}


def overall_status(checks: dict[str, dict]) -> str:
    worst = max((_RANK.get(c.get("status"), 2) for c in checks.values()), default=0)
    return {0: HEALTHY, 1: DEGRADED, 2: UNHEALTHY}[worst]


def run_checks() -> dict:
    """Run every check now. Returns the CONTRACT.md section 3 body: status, timestamp, checks."""
    checks: dict[str, dict] = {}
    for name, check in CHECKS.items():
        try:
            checks[name] = check()
        except Exception as exc:  # a bug in a check is still a report, not a 500
            checks[name] = _failure(exc)
    return {
        "status": overall_status(checks),
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "checks": checks,
    }
