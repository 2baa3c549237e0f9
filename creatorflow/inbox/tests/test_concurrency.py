"""Real concurrency on PostgreSQL: many threads, one row, one processing."""

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread

from accounts.models import Account
from creatorflow.core.testing_celery import wait_for
from creatorflow.inbox.models import InboundEvent
from creatorflow.inbox.services import inbox_process
from creatorflow.inbox.tests.factories import InboundEventFactory
from creatorflow.inbox.tests.urls import SIGNATURE_HEADER, sign

DELIVERIES = 50


class _RoomyServer(ThreadedWSGIServer):
    # Django's default listen backlog (10) resets connections when 50 clients connect at once;
    # a production server (gunicorn: 2048) would queue them.
    request_queue_size = 128


class _RoomyServerThread(LiveServerThread):
    server_class = _RoomyServer


@pytest.fixture
def webhook_server(transactional_db):
    """A live HTTP server (Django's own live-server thread) with a production-like listen backlog."""
    thread = _RoomyServerThread("127.0.0.1", static_handler=lambda handler: handler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


def post_webhook(base_url: str, body: bytes) -> tuple[int, bytes]:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(
            "POST",
            "/webhooks/test/",
            body=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body)},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("creatorflow.inbox.tests.urls")
def test_same_event_posted_50_times_concurrently_is_stored_once_and_processed_once(
    webhook_server, celery_worker, dispatch_relay
):
    # given one signed event, a real worker consuming the real broker and the relay sending to it
    body = json.dumps({"id": "evt-storm", "type": "record"}).encode()
    start = threading.Barrier(DELIVERIES)

    def deliver(_):
        start.wait()  # all threads send at the same moment
        return post_webhook(webhook_server, body)

    # when it is delivered 50 times at once over real HTTP
    with ThreadPoolExecutor(max_workers=DELIVERIES) as pool:
        answers = list(pool.map(deliver, range(DELIVERIES)))

    # then every delivery got the same answer as the first
    assert answers == [(200, b"")] * DELIVERIES
    # and there is exactly one row
    assert InboundEvent.objects.filter(provider="test", external_id="evt-storm").count() == 1
    # and the worker processed it, with the handler's effect happening exactly once
    wait_for(
        lambda: InboundEvent.objects.filter(
            external_id="evt-storm", status=InboundEvent.Status.DONE
        ).exists(),
        message="the event to be processed",
    )
    event = InboundEvent.objects.get(external_id="evt-storm")
    assert event.attempts == 1
    assert Account.objects.filter(name="effect:evt-storm").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_event_run_its_handler_once():
    # given a received event and twenty workers holding a message for it
    event = InboundEventFactory(event_type="record")
    start = threading.Barrier(20)

    def work(_):
        start.wait()
        try:
            return inbox_process(event_id=event.pk).outcome
        finally:
            connections.close_all()

    # when they all try to process it at the same moment
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = sorted(pool.map(work, range(20)))

    # then exactly one claimed it and the handler's effect happened once
    assert outcomes == ["done"] + ["skipped"] * 19
    event.refresh_from_db()
    assert (event.status, event.attempts) == (InboundEvent.Status.DONE, 1)
    assert Account.objects.filter(name=f"effect:{event.external_id}").count() == 1
