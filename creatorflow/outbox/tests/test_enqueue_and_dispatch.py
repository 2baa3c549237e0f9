"""Enqueue in the caller's transaction, dispatch on commit, survive a broker that is down."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from accounts.tests.factories import AccountFactory, UserFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.core.testing_celery import relay_pass
from creatorflow.outbox.models import OutboxMessage
from creatorflow.outbox.publishing import defer_dispatch
from creatorflow.outbox.services import (
    OUTBOX_RETRY,
    OutboxUsageError,
    outbox_enqueue,
    outbox_redispatch,
    outbox_run,
)
from creatorflow.resilience.heartbeat import STALE_AFTER

Status = OutboxMessage.Status


class Rollback(Exception):
    pass


@pytest.mark.django_db
def test_a_rolled_back_transaction_leaves_no_message_and_dispatches_nothing(
    django_capture_on_commit_callbacks,
):
    # given work that enqueues a task and then fails
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(Rollback):
            with transaction.atomic():
                AccountFactory(name="half-done")
                outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": "never"}, key="k-rollback")
                raise Rollback

    # then neither the row nor a dispatch survives the rollback
    assert not OutboxMessage.objects.exists()
    assert callbacks == []
    assert not Account.objects.filter(name="half-done").exists()


@pytest.mark.django_db
def test_a_committed_enqueue_dispatches_once_and_runs_the_task(
    celery_eager, django_capture_on_commit_callbacks
):
    # given work that enqueues a task
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            message = outbox_enqueue(
                task="outbox_tests.record_effect", kwargs={"label": "ran"}, key="k-commit"
            )

    # then one dispatch ran after commit and the task body ran once
    assert message.created and len(callbacks) == 1
    row = OutboxMessage.objects.get(pk=message.id)
    assert (row.status, row.attempts, row.dispatches) == (Status.DONE, 1, 1)
    assert row.completed_at is not None
    assert Account.objects.filter(name="ran").count() == 1


@pytest.mark.django_db
def test_enqueue_is_idempotent_on_its_key(django_capture_on_commit_callbacks):
    # given a message already enqueued under a key
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            first = outbox_enqueue(
                task="outbox_tests.record_effect", kwargs={"label": "a"}, key="order:1:ship"
            )

            # when the same work is enqueued again under that key
            second = outbox_enqueue(
                task="outbox_tests.record_effect", kwargs={"label": "a"}, key="order:1:ship"
            )

    # then it is the same message, dispatched once
    assert first.created and not second.created
    assert second.id == first.id
    assert OutboxMessage.objects.count() == 1
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_a_key_cannot_be_reused_for_another_task():
    # given a key taken by one task
    with transaction.atomic():
        outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": "a"}, key="order:2:ship")

    # when another task claims it, then that is refused
    with pytest.raises(OutboxUsageError):
        with transaction.atomic():
            outbox_enqueue(task="outbox_tests.fail_until_fixed", kwargs={"label": "a"}, key="order:2:ship")


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused():
    # when the outbox is used without the caller's transaction
    with pytest.raises(OutboxUsageError):
        outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": "loose"})

    # then nothing was written
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_broker_down_at_commit_keeps_the_message_pending_until_beat_delivers_it(
    unreachable_broker, celery_eager, django_capture_on_commit_callbacks
):
    # given the broker refuses connections (Celery talks to a real, closed port)
    celery_eager.conf.task_always_eager = False

    # when work commits with a message
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            message = outbox_enqueue(
                task="outbox_tests.record_effect", kwargs={"label": "late"}, key="k-late"
            )

    # then the send failed, and the row is still pending with the reason
    row = OutboxMessage.objects.get(pk=message.id)
    assert (row.status, row.dispatches) == (Status.PENDING, 0)
    assert "dispatch failed" in row.last_error
    assert not Account.objects.filter(name="late").exists()

    # when the broker is back (tasks now run in-process) and the relay's next pass runs
    unreachable_broker()
    celery_eager.conf.task_always_eager = True
    counts = outbox_redispatch()

    # then it was delivered and ran once
    row.refresh_from_db()
    assert counts["sent"] == 1
    assert (row.status, row.dispatches) == (Status.DONE, 1)
    assert Account.objects.filter(name="late").count() == 1


@pytest.mark.django_db
def test_a_message_sent_a_moment_ago_is_not_sent_again(celery_eager):
    # given a message whose delivery went to the broker a moment ago and waits for a worker
    with transaction.atomic():
        message = outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": "fresh"})
    OutboxMessage.objects.filter(pk=message.id).update(status=Status.DISPATCHED, dispatched_at=timezone.now())

    # when the relay's pass runs
    counts = outbox_redispatch()

    # then it is left to its message
    assert counts["sent"] == 0 and counts["recovered"] == 0
    assert OutboxMessage.objects.get().status == Status.DISPATCHED
    assert not Account.objects.filter(name="fresh").exists()


@pytest.mark.django_db
def test_a_delayed_message_is_sent_only_when_it_is_due(celery_eager, django_capture_on_commit_callbacks):
    # given a message that must not run for another ten minutes
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            message = outbox_enqueue(
                task="outbox_tests.record_effect",
                kwargs={"label": "later"},
                not_before=timezone.now() + timedelta(minutes=10),
            )

    # then nothing is sent for it now, and no pass sends it early
    assert callbacks == []
    assert outbox_redispatch()["sent"] == 0
    assert OutboxMessage.objects.get(pk=message.id).status == Status.PENDING

    # when its time comes
    OutboxMessage.objects.filter(pk=message.id).update(next_attempt_at=timezone.now())
    counts = outbox_redispatch()

    # then it is sent and runs once
    assert counts["sent"] == 1
    assert OutboxMessage.objects.get(pk=message.id).status == Status.DONE
    assert Account.objects.filter(name="later").count() == 1


@pytest.mark.django_db
def test_a_message_enqueued_in_a_request_waits_for_the_relay(
    celery_eager, django_capture_on_commit_callbacks
):
    # given work done while answering a request, where nothing may wait on the broker
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with defer_dispatch(), transaction.atomic():
            message = outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": "from-request"})

    # then the request sent nothing
    assert callbacks == []
    assert OutboxMessage.objects.get(pk=message.id).status == Status.PENDING

    # and the relay's next pass sends it, once
    assert relay_pass() == 1
    assert relay_pass() == 0
    assert OutboxMessage.objects.get(pk=message.id).status == Status.DONE
    assert Account.objects.filter(name="from-request").count() == 1


@pytest.mark.django_db
def test_a_second_delivery_of_a_done_message_does_nothing(celery_eager, django_capture_on_commit_callbacks):
    # given a message that ran to done
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            message = outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": "once"})

    # when the broker delivers it again
    result = outbox_run(message_id=message.id)

    # then the task did not run again
    assert result.outcome == "skipped"
    assert Account.objects.filter(name="once").count() == 1
    assert OutboxMessage.objects.get(pk=message.id).attempts == 1


def let_retry_come_due(message_id: int) -> None:
    """Time passes: the retry is due."""
    OutboxMessage.objects.filter(pk=message_id).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_failing_task_retries_with_backoff_then_fails_and_staff_can_requeue_it(
    client, celery_eager, django_capture_on_commit_callbacks
):
    # given a task that fails while its dependency is down
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            message = outbox_enqueue(task="outbox_tests.fail_until_fixed", kwargs={"label": "dep"})

    # then it waits for its backoff as a due row, not as a message sleeping in a worker
    row = OutboxMessage.objects.get(pk=message.id)
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    wait = (row.next_attempt_at - row.started_at).total_seconds()
    assert OUTBOX_RETRY.base_seconds / 2 <= wait <= OUTBOX_RETRY.base_seconds + 1
    assert outbox_redispatch()["sent"] == 0

    # when each retry comes due and the relay sends it
    for _ in range(OUTBOX_RETRY.max_attempts - 1):
        let_retry_come_due(row.pk)
        assert outbox_redispatch()["sent"] == 1

    # then it gave up after the policy's maximum, having run exactly that often
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, OUTBOX_RETRY.max_attempts)
    assert "dependency is still down" in row.last_error
    assert Account.objects.filter(name="attempt:dep").count() == OUTBOX_RETRY.max_attempts
    assert outbox_redispatch()["sent"] == 0

    # when the dependency is back and staff requeue it from the admin
    Account.objects.create(name="fixed:dep")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:outbox_outboxmessage_changelist"),
        {"action": "requeue_messages", "_selected_action": [row.pk]},
    )
    assert response.status_code == 302
    relay_pass()

    # then it runs to done, and the requeue is in the audit log
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.DONE, 1)
    entry = AuditLogEntry.objects.get(action="outbox.requeue")
    assert entry.target_object_id == str(row.pk) and entry.actor.is_staff
    assert Account.objects.filter(name="dep").count() == 1


@pytest.mark.django_db
def test_a_failure_that_names_a_wait_is_not_retried_sooner(celery_eager):
    # given a task that fails the way an open breaker does ("retry in 300 s")
    with transaction.atomic():
        message = outbox_enqueue(task="outbox_tests.breaker_open", kwargs={})
    outbox_redispatch()

    # then its next try is no sooner than the breaker's remaining time, not the 10 s backoff
    row = OutboxMessage.objects.get(pk=message.id)
    assert row.status == Status.PENDING
    assert (row.next_attempt_at - row.started_at).total_seconds() >= 300


@pytest.mark.django_db
def test_a_message_whose_worker_stopped_beating_is_sent_again(celery_eager):
    # given a message whose worker died: no heartbeat for longer than STALE_AFTER
    with transaction.atomic():
        message = outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": "orphan"})
    beat = timezone.now() - timedelta(seconds=STALE_AFTER + 5)
    OutboxMessage.objects.filter(pk=message.id).update(
        status=Status.RUNNING, attempts=1, started_at=beat - timedelta(seconds=60), heartbeat_at=beat
    )

    # when the relay's pass runs
    counts = outbox_redispatch()

    # then it was freed and run again to done
    row = OutboxMessage.objects.get(pk=message.id)
    assert counts["reset"] == 1
    assert (row.status, row.attempts) == (Status.DONE, 2)
    assert Account.objects.filter(name="orphan").count() == 1


@pytest.mark.django_db
def test_a_long_message_whose_worker_still_beats_is_left_alone(celery_eager):
    # given a message a worker has run for an hour, its heartbeat fresh
    with transaction.atomic():
        message = outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": "busy"})
    OutboxMessage.objects.filter(pk=message.id).update(
        status=Status.RUNNING,
        attempts=1,
        started_at=timezone.now() - timedelta(hours=1),
        heartbeat_at=timezone.now() - timedelta(seconds=2),
    )

    # when the relay's pass runs
    outbox_redispatch()

    # then it still belongs to that worker
    assert OutboxMessage.objects.get(pk=message.id).status == Status.RUNNING
    assert not Account.objects.filter(name="busy").exists()


def messages_waiting(redis_client, queue: str) -> int:
    """Messages sitting in a queue on the real Redis broker (kombu keeps one list per priority)."""
    keys = [k for k in redis_client.keys(f"{queue}*") if not k.startswith(b"_kombu")]
    return sum(redis_client.llen(k) for k in keys)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_only_a_committed_transaction_puts_a_message_on_the_real_broker(redis_client):
    # given an empty broker and no worker
    assert messages_waiting(redis_client, "default") == 0

    # when one transaction enqueues and rolls back
    with pytest.raises(Rollback):
        with transaction.atomic():
            outbox_enqueue(task="outbox_tests.record_effect", kwargs={"label": "x"}, key="k-broker-rollback")
            raise Rollback

    # then nothing reached the broker
    assert messages_waiting(redis_client, "default") == 0
    assert not OutboxMessage.objects.exists()

    # when another commits
    with transaction.atomic():
        message = outbox_enqueue(
            task="outbox_tests.record_effect", kwargs={"label": "x"}, key="k-broker-commit"
        )

    # then exactly one message is waiting and the row says so
    assert messages_waiting(redis_client, "default") == 1
    row = OutboxMessage.objects.get(pk=message.id)
    assert (row.status, row.dispatches) == (Status.DISPATCHED, 1)
