"""Suite-wide test setup.

Markers `postgres` and `redis` say a test needs the real server. Without DATABASE_URL pointing at
PostgreSQL (or without REDIS_URL) such a test is skipped with a reason; with CF_REQUIRE_SERVICES=1
(CI) it fails instead, so CI can never go green by skipping them.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from creatorflow.core.testing_celery import (  # noqa: F401
    celery_eager,
    celery_worker,
    dispatch_relay,
    own_redis_broker,
    unreachable_broker,
)

pytest_plugins = [
    "tiktok.sandbox.pytest_fixtures",
    "shipping.standins.easypost_fixtures",
    "shipping.standins.shippo_fixtures",
]

REQUIRE_SERVICES = os.environ.get("CF_REQUIRE_SERVICES") == "1"


def _missing(item) -> str | None:
    if item.get_closest_marker("postgres") and not settings.USING_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://..."
    return None


def pytest_runtest_setup(item):
    reason = _missing(item)
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} (CF_REQUIRE_SERVICES=1 forbids skipping)", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def staff_client(client):
    """The test client signed in (session) as a fresh staff superuser."""
    from accounts.tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def redis_client():
    """A client on REDIS_URL's database, emptied before and after the test."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
