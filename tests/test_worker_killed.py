"""A worker killed in the middle of a task (SIGKILL, pool and all): another worker finishes it within a
minute, exactly once, with no person and no grace period of minutes. Real worker processes, a real
broker of the test's own, the relay running."""

from __future__ import annotations

import sys
import time

import pytest
from django.conf import settings
from django.db import transaction

from accounts.models import Account
from creatorflow.core.testing_celery import wait_for
from creatorflow.core.testing_servers import AppProcess, app_env
from creatorflow.outbox.models import OutboxMessage
from creatorflow.outbox.services import outbox_enqueue

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def worker(broker_url: str, name: str) -> AppProcess:
    db = settings.DATABASES["default"]
    env = app_env(
        DJANGO_SETTINGS_MODULE="creatorflow.settings_test",
        DATABASE_URL=f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=broker_url,
        CELERY_BROKER_URL=broker_url,
    )
    process = AppProcess(
        name,
        [sys.executable, "-m", "celery", "-A", "creatorflow", "worker", "-Q", "default", "-n", f"{name}@%h",
         "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--include", "creatorflow.outbox.tests.tasks_for_tests"],
        env,
    )  # fmt: skip
    return process


def test_a_killed_workers_task_is_finished_by_another_within_a_minute(own_redis_broker, dispatch_relay):
    # given a task that takes 8 s, started by a worker
    first = worker(own_redis_broker.url, "doomed")
    second = None
    try:
        with transaction.atomic():
            message = outbox_enqueue(
                task="outbox_tests.slow_effect", kwargs={"label": "survivor", "seconds": 8}, key="k-killed"
            )
        wait_for(lambda: Account.objects.filter(name="started:survivor").exists(), timeout=60,
                 message="the first worker to start the task")  # fmt: skip

        # when that worker is killed mid-task and a new one starts, as a supervisor would
        first.kill()
        killed_at = time.monotonic()
        second = worker(own_redis_broker.url, "successor")

        # then within a minute of the kill the task has run to the end, once
        wait_for(lambda: Account.objects.filter(name="survivor").exists(), timeout=60,
                 message="another worker to finish the killed worker's task")  # fmt: skip
        assert time.monotonic() - killed_at < 60
        row = OutboxMessage.objects.get(pk=message.id)
        wait_for(
            lambda: OutboxMessage.objects.get(pk=message.id).status == OutboxMessage.Status.DONE, timeout=10
        )
        row.refresh_from_db()
        assert row.attempts == 2
        assert Account.objects.filter(name="survivor").count() == 1
        assert Account.objects.filter(name="started:survivor").count() == 2
    finally:
        first.stop(timeout=5)
        if second is not None:
            second.stop(timeout=15)
