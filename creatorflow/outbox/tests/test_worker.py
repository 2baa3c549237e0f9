"""End to end with a real Celery worker on PostgreSQL and Redis."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from creatorflow.core.testing_celery import wait_for
from creatorflow.outbox.models import OutboxMessage
from creatorflow.outbox.services import outbox_enqueue
from creatorflow.outbox.tasks import redispatch_outbox

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

Status = OutboxMessage.Status


def is_done(message_id: int) -> bool:
    return OutboxMessage.objects.filter(pk=message_id, status=Status.DONE).exists()


def test_a_committed_message_is_run_by_a_real_worker_and_ends_done(celery_worker):
    # when work commits with an outbox message
    with transaction.atomic():
        message = outbox_enqueue(
            task="outbox_tests.record_effect", kwargs={"label": "worker-ran"}, key="k-worker"
        )

    # then the worker runs it once and the message ends done
    wait_for(lambda: is_done(message.id), message="the message to be done")
    row = OutboxMessage.objects.get(pk=message.id)
    assert (row.attempts, row.dispatches) == (1, 1)
    assert Account.objects.filter(name="worker-ran").count() == 1


def test_broker_down_at_commit_then_beat_redispatch_delivers_through_the_worker(
    celery_worker, unreachable_broker
):
    # given the web process cannot reach the broker when it commits
    with transaction.atomic():
        message = outbox_enqueue(
            task="outbox_tests.record_effect", kwargs={"label": "recovered"}, key="k-down"
        )
    row = OutboxMessage.objects.get(pk=message.id)
    assert (row.status, row.dispatches) == (Status.PENDING, 0)
    assert "dispatch failed" in row.last_error

    # when the broker is reachable again and beat's job runs a few seconds later (through the worker)
    unreachable_broker()
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=30))
    redispatch_outbox.delay()

    # then the message is delivered and the task ran exactly once
    wait_for(lambda: is_done(message.id), message="the re-dispatched message to be done")
    row.refresh_from_db()
    assert (row.attempts, row.dispatches) == (1, 1)
    assert Account.objects.filter(name="recovered").count() == 1
