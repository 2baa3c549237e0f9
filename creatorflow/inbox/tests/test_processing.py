"""Processing: claim once, retry with backoff, die after the policy's attempts, sweep, replay."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from accounts.tests.factories import UserFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.inbox.models import InboundEvent
from creatorflow.inbox.services import (
    INBOX_RETRY,
    OVERDUE_GRACE,
    STUCK_PROCESSING_AFTER,
    inbox_process,
    inbox_store,
    inbox_sweep,
)
from creatorflow.inbox.tasks import process_inbound_event
from creatorflow.inbox.tests.factories import InboundEventFactory

pytestmark = pytest.mark.django_db

Status = InboundEvent.Status


def let_retry_come_due(event: InboundEvent) -> None:
    """Time passes: the event's next attempt is now overdue by more than the sweeper's grace."""
    InboundEvent.objects.filter(pk=event.pk).update(
        next_attempt_at=timezone.now() - OVERDUE_GRACE - timedelta(seconds=1)
    )


def attempts_made(external_id: str) -> int:
    return Account.objects.filter(name=f"attempt:{external_id}").count()


def test_failing_handler_retries_with_backoff_and_is_dead_after_the_policy_maximum(
    celery_eager, django_capture_on_commit_callbacks
):
    # given an event whose handler always fails, received and dispatched on commit
    with django_capture_on_commit_callbacks(execute=True):
        event, created = inbox_store(
            provider="test", external_id="evt-boom", event_type="explode", body=b"{}", headers={}
        )
    assert created

    # then the first attempt failed and the next one waits for the policy's backoff
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.FAILED, 1)
    assert "always fails" in event.last_error
    wait = (event.next_attempt_at - event.processing_finished_at).total_seconds()
    assert INBOX_RETRY.base_seconds / 2 <= wait <= INBOX_RETRY.base_seconds

    # when every retry comes due and the beat sweeper dispatches it
    for attempt in range(2, INBOX_RETRY.max_attempts + 1):
        let_retry_come_due(event)
        inbox_sweep()
        event.refresh_from_db()
        assert event.attempts == attempt
        if attempt < INBOX_RETRY.max_attempts:
            assert event.status == Status.FAILED
            wait = (event.next_attempt_at - event.processing_finished_at).total_seconds()
            full = min(INBOX_RETRY.cap_seconds, INBOX_RETRY.base_seconds * 2 ** (attempt - 1))
            assert full / 2 <= wait <= full

    # then after the maximum the event is dead, the handler ran exactly that many times
    assert event.status == Status.DEAD
    assert event.next_attempt_at is None
    assert attempts_made("evt-boom") == INBOX_RETRY.max_attempts

    # and nothing picks a dead event up again
    assert inbox_sweep()["overdue"] == 0
    assert process_inbound_event.apply(args=[event.pk]).get() == "skipped"
    assert attempts_made("evt-boom") == INBOX_RETRY.max_attempts


def test_a_retry_that_arrives_before_it_is_due_does_nothing():
    # given an event that failed and waits for its backoff
    event = InboundEventFactory(event_type="explode")
    assert inbox_process(event_id=event.pk).outcome == "failed"

    # when a duplicate message for it arrives early
    result = inbox_process(event_id=event.pk)

    # then it is skipped: the handler did not run again
    assert result.outcome == "skipped"
    assert attempts_made(event.external_id) == 1


def test_processing_a_done_event_again_does_nothing():
    # given an event processed successfully
    event = InboundEventFactory(event_type="record")
    assert inbox_process(event_id=event.pk).outcome == "done"

    # when it is delivered again
    result = inbox_process(event_id=event.pk)

    # then the handler's effect happened once
    assert result.outcome == "skipped"
    assert Account.objects.filter(name=f"effect:{event.external_id}").count() == 1


def test_sweeper_dispatches_an_event_the_broker_never_got(celery_eager):
    # given an event received long enough ago and never processed (broker down at receipt)
    event = InboundEventFactory(event_type="record", next_attempt_at=timezone.now() - OVERDUE_GRACE * 2)

    # when the sweeper runs
    counts = inbox_sweep()

    # then it was dispatched and processed
    event.refresh_from_db()
    assert counts["dispatched"] == 1
    assert event.status == Status.DONE
    assert Account.objects.filter(name=f"effect:{event.external_id}").count() == 1


def test_sweeper_leaves_a_fresh_event_to_its_own_message(celery_eager):
    # given an event received a moment ago
    event = InboundEventFactory(event_type="record")

    # when the sweeper runs
    counts = inbox_sweep()

    # then it is not touched
    event.refresh_from_db()
    assert counts["dispatched"] == 0 and event.status == Status.RECEIVED


def test_event_stuck_in_processing_after_a_lost_worker_is_reset_and_processed(celery_eager):
    # given an event whose worker died mid-way, longer ago than the task's time limit
    started = timezone.now() - STUCK_PROCESSING_AFTER - timedelta(seconds=5)
    event = InboundEventFactory(
        event_type="record", status=Status.PROCESSING, attempts=1, processing_started_at=started
    )

    # when the sweeper runs
    counts = inbox_sweep()

    # then the lost attempt counts, and the event is processed again to done
    event.refresh_from_db()
    assert counts["reset"] == 1
    assert (event.status, event.attempts) == (Status.DONE, 2)
    assert Account.objects.filter(name=f"effect:{event.external_id}").count() == 1


def test_event_processing_within_its_time_limit_is_left_alone(celery_eager):
    # given an event a worker is processing right now
    event = InboundEventFactory(
        status=Status.PROCESSING, attempts=1, processing_started_at=timezone.now() - timedelta(seconds=10)
    )

    # when the sweeper runs
    inbox_sweep()

    # then it still belongs to that worker
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.PROCESSING, 1)


def test_stuck_event_on_its_last_attempt_becomes_dead():
    # given an event that lost its worker on its last allowed attempt
    started = timezone.now() - STUCK_PROCESSING_AFTER - timedelta(seconds=5)
    event = InboundEventFactory(
        status=Status.PROCESSING, attempts=INBOX_RETRY.max_attempts, processing_started_at=started
    )

    # when the sweeper runs
    inbox_sweep()

    # then it is parked as dead for staff
    event.refresh_from_db()
    assert event.status == Status.DEAD
    assert "worker lost" in event.last_error


def drive_to_dead(event: InboundEvent) -> None:
    for _ in range(INBOX_RETRY.max_attempts):
        let_retry_come_due(event)
        inbox_process(event_id=event.pk)
    event.refresh_from_db()
    assert event.status == Status.DEAD


def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_replay_action_reprocesses_a_dead_event(
    client, celery_eager, django_capture_on_commit_callbacks
):
    # given an event that died while its dependency was down, and a done event selected alongside it
    dead = InboundEventFactory(event_type="needs_fix")
    drive_to_dead(dead)
    done = InboundEventFactory(event_type="record")
    inbox_process(event_id=done.pk)
    # and the dependency is back
    Account.objects.create(name=f"fixed:{dead.external_id}")

    # when staff replay both from the admin
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client(client).post(
            reverse("admin:inbox_inboundevent_changelist"),
            {"action": "replay_events", "_selected_action": [dead.pk, done.pk]},
            follow=True,
        )

    # then the dead event got a fresh attempt budget, was dispatched once and is done
    assert response.status_code == 200
    assert "Replayed 1 event(s)." in response.content.decode()
    assert len(callbacks) == 1
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (Status.DONE, 1)
    assert Account.objects.filter(name=f"effect:{dead.external_id}").count() == 1
    # and the done event was not redone
    assert Account.objects.filter(name=f"effect:{done.external_id}").count() == 1
    # and the replay is in the audit log under the staff member's name
    entry = AuditLogEntry.objects.get(action="inbox.replay")
    assert entry.target_object_id == str(dead.pk) and entry.actor.is_staff
    assert entry.changes == {"status": ["dead", "received"]}


def test_admin_shows_the_raw_body_read_only(client):
    # given a stored event whose body contains markup
    event = InboundEventFactory(body=b'{"id": "x", "note": "<script>alert(1)</script>"}')

    # when staff open it
    response = staff_client(client).get(reverse("admin:inbox_inboundevent_change", args=[event.pk]))

    # then the raw body is shown escaped and there is no save button
    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert 'name="_save"' not in html


def test_admin_list_filters_and_searches(client):
    # given events in different states
    InboundEventFactory(external_id="find-me")
    InboundEventFactory(external_id="zz-unrelated-evt", status=Status.DEAD)

    # when staff search and filter
    admin = staff_client(client)
    url = reverse("admin:inbox_inboundevent_changelist")
    by_search = admin.get(url, {"q": "find-me"}).content.decode()
    by_status = admin.get(url, {"status__exact": "dead"}).content.decode()

    # then each shows only the matching event
    assert "find-me" in by_search and "zz-unrelated-evt" not in by_search
    assert "zz-unrelated-evt" in by_status and "find-me" not in by_status
