"""Celery fixtures for the whole suite (registered in the root conftest.py).

Nothing of ours is replaced: `celery_eager` flips Celery's own always-eager switch so a dispatched
task runs in the test's thread, and `celery_worker` starts a real worker thread consuming the
project's queues from the real broker (REDIS_URL), with the real database.
"""

from __future__ import annotations

import time

import pytest
from celery.signals import task_postrun
from django.db import connections

from creatorflow.celery import app as celery_app

UNREACHABLE_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


@pytest.fixture
def celery_eager():
    """Run sent tasks in-process, as a worker would, and let their errors surface."""
    conf = celery_app.conf
    previous = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield celery_app
    conf.task_always_eager, conf.task_eager_propagates = previous


def _close_worker_connections(**kwargs):
    # The worker thread's database connections would otherwise outlive the test and keep the test
    # database open (PostgreSQL refuses to drop a database with sessions attached).
    connections.close_all()


@pytest.fixture
def celery_worker(redis_client):
    """A real worker thread on the project's app; the broker's database starts empty."""
    from celery.contrib.testing.worker import start_worker

    task_postrun.connect(_close_worker_connections, weak=False, dispatch_uid="cf-test-close-conns")
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        task_postrun.disconnect(dispatch_uid="cf-test-close-conns")


@pytest.fixture
def unreachable_broker():
    """Point the Celery app at a broker that refuses connections. Yields `restore()`, which brings the
    real broker back (the broker "recovers"); teardown restores it in any case."""
    previous = celery_app.conf.broker_url

    def restore():
        celery_app.conf.broker_url = previous

    # Dispatch opens its connection from the configuration at send time (outbox.publishing).
    celery_app.conf.broker_url = UNREACHABLE_BROKER_URL
    yield restore
    restore()


@pytest.fixture
def own_redis_broker():
    """Celery's broker pointed at a redis-server of the test's own (see OwnRedis), and back after."""
    from creatorflow.core.testing_servers import OwnRedis
    from creatorflow.outbox import publishing

    server = OwnRedis()
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = server.url
    publishing._drop_cached_connection()
    try:
        yield server
    finally:
        celery_app.conf.broker_url = previous
        publishing._drop_cached_connection()
        server.stop()


def relay_pass(*, recover: bool = False) -> int:
    """Send everything due, as the relay would (rows written inside a test-client request wait for
    it, exactly as in production). Under `celery_eager` the tasks run inline, and what they enqueue
    is sent by them directly, so one call normally runs a whole chain. Returns how many it sent."""
    from creatorflow.relay.service import relay_pass as _relay_pass

    return _relay_pass(recover=recover).sent


@pytest.fixture
def dispatch_relay():
    """A real relay loop in a thread for the test (for live-server and real-worker tests)."""
    import threading

    from creatorflow.relay.service import run_relay

    stop = threading.Event()
    thread = threading.Thread(
        target=run_relay, kwargs={"stop": stop, "poll_seconds": 0.2, "name": "test-relay"}, daemon=True
    )
    thread.start()
    yield thread
    stop.set()
    thread.join(timeout=15)


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
