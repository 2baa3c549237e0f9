"""The relay against a real broker: nothing waits on it in a request, nothing it lost stays lost,
and nothing merely waiting in line is sent twice."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from creatorflow.core.testing_celery import wait_for
from creatorflow.inbox.models import InboundEvent
from creatorflow.inbox.services import inbox_store, inbox_sweep
from creatorflow.inbox.tests.urls import SIGNATURE_HEADER, sign
from creatorflow.outbox.models import OutboxMessage
from creatorflow.outbox.services import outbox_enqueue, outbox_redispatch
from creatorflow.relay.models import RelayBeat
from creatorflow.relay.service import run_relay

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def queued(server, queue: str) -> int:
    """Messages waiting in `queue` on our own Redis (kombu keeps one list per priority step)."""
    client = server.client()
    return sum(client.llen(key) for key in client.keys(f"{queue}*") if not key.startswith(b"_kombu"))


def store_events(n: int, *, prefix: str) -> list[int]:
    """Events stored outside any request: each is sent to the broker right after its commit."""
    ids = []
    for i in range(n):
        event, _ = inbox_store(provider="test", external_id=f"{prefix}-{i}", event_type="record", body=b"{}")
        ids.append(event.pk)
    return ids


def age_sent(model, seconds: float) -> None:
    model.objects.filter(dispatched_at__isnull=False).update(
        dispatched_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_events_waiting_in_a_long_queue_are_not_sent_again(own_redis_broker):
    # given 60 events sent a minute ago and still waiting in line (no worker is consuming)
    store_events(60, prefix="line")
    assert queued(own_redis_broker, "webhooks") == 60
    age_sent(InboundEvent, 60)

    # when the sweep runs
    counts = inbox_sweep()

    # then none of them is sent a second time
    assert (counts["recovered"], counts["sent"]) == (0, 0)
    assert queued(own_redis_broker, "webhooks") == 60


def test_events_the_broker_lost_are_all_sent_again_in_one_pass(own_redis_broker):
    # given 60 events sent a minute ago, and then the broker lost its queue (restart, flush)
    store_events(60, prefix="lost")
    age_sent(InboundEvent, 60)
    own_redis_broker.client().flushdb()

    # when the sweep runs
    counts = inbox_sweep()

    # then every one is found and sent again, once
    assert (counts["recovered"], counts["sent"]) == (60, 60)
    assert queued(own_redis_broker, "webhooks") == 60
    assert inbox_sweep()["sent"] == 0


def test_only_the_messages_the_broker_dropped_are_sent_again(own_redis_broker):
    # given 50 events sent a minute ago, of which the broker dropped the 20 oldest
    store_events(50, prefix="part")
    age_sent(InboundEvent, 60)
    client = own_redis_broker.client()
    for _ in range(20):
        client.rpop("webhooks")  # kombu pushes on the left and workers take from the right
    assert queued(own_redis_broker, "webhooks") == 30

    # when the sweep runs
    counts = inbox_sweep()

    # then those 20 are sent again and the 30 still waiting are left alone
    assert (counts["recovered"], counts["sent"]) == (20, 20)
    assert queued(own_redis_broker, "webhooks") == 50


def test_outbox_messages_the_broker_lost_are_sent_again_and_those_in_line_are_not(own_redis_broker):
    # given 40 outbox messages sent a minute ago to the default queue
    with transaction.atomic():
        for i in range(40):
            outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": f"ob-{i}"})
    assert queued(own_redis_broker, "default") == 40
    age_sent(OutboxMessage, 60)

    # when a pass runs while they wait in line, nothing is sent again
    assert outbox_redispatch()["sent"] == 0

    # when the broker then loses them all
    own_redis_broker.client().flushdb()
    counts = outbox_redispatch()

    # then all 40 are sent again, once
    assert (counts["recovered"], counts["sent"]) == (40, 40)
    assert queued(own_redis_broker, "default") == 40


@pytest.mark.urls("creatorflow.inbox.tests.urls")
def test_webhooks_are_answered_fast_while_the_broker_is_frozen(own_redis_broker):
    # given the broker is frozen (the process is stopped: connections open, nothing answers)
    client = Client()
    own_redis_broker.freeze()
    timings = []
    try:
        # when 40 signed webhooks arrive
        for i in range(40):
            body = json.dumps({"id": f"frozen-{i}", "type": "record"}).encode()
            started = time.monotonic()
            response = client.post(
                "/webhooks/test/",
                data=body,
                content_type="application/json",
                headers={SIGNATURE_HEADER: sign(body)},
            )
            timings.append(time.monotonic() - started)
            assert response.status_code == 200
    finally:
        own_redis_broker.thaw()

    # then every answer came without waiting on the broker (a blocked publish would take seconds)
    assert max(timings) < 1.0, f"slowest answer took {max(timings):.2f} s"
    # and every event is stored, due, waiting for the relay
    assert (
        InboundEvent.objects.filter(external_id__startswith="frozen-", dispatched_at__isnull=True).count()
        == 40
    )

    # when the relay runs now that the broker answers again
    inbox_sweep()

    # then all 40 are on the broker
    assert queued(own_redis_broker, "webhooks") == 40


def test_the_relay_rides_out_a_frozen_broker_and_sends_everything_after(own_redis_broker):
    # given a running relay and a broker that freezes
    stop = threading.Event()
    relay = threading.Thread(
        target=run_relay, kwargs={"stop": stop, "poll_seconds": 0.2, "name": "test-relay-frozen"}, daemon=True
    )
    own_redis_broker.freeze()
    relay.start()
    try:
        # when events arrive during the freeze (as from web requests: left for the relay)
        from creatorflow.outbox.publishing import defer_dispatch

        with defer_dispatch():
            store_events(30, prefix="ride")
        time.sleep(2)
        assert queued_safely(own_redis_broker) is None  # still frozen

        # and the broker comes back
        own_redis_broker.thaw()

        # then the relay sends every one of them, once
        wait_for(lambda: queued(own_redis_broker, "webhooks") == 30, timeout=30, message="all 30 to be sent")
        assert InboundEvent.objects.filter(dispatched_at__isnull=True).count() == 0
        # and it reports itself alive for the health check
        wait_for(lambda: RelayBeat.objects.filter(name="test-relay-frozen").exists(), timeout=10)
    finally:
        own_redis_broker.thaw()
        stop.set()
        relay.join(timeout=20)
    assert not relay.is_alive()
    assert not RelayBeat.objects.filter(name="test-relay-frozen").exists()


def queued_safely(server):
    import redis

    try:
        return redis.Redis.from_url(server.url, socket_timeout=0.3).llen("webhooks")
    except redis.RedisError:
        return None
