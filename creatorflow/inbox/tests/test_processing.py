"""Processing: claim once, retry with backoff, die after the policy's attempts, recover, replay."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from accounts.tests.factories import UserFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.core.testing_celery import relay_pass
from creatorflow.inbox.models import InboundEvent
from creatorflow.inbox.services import (
    INBOX_RETRY,
    inbox_process,
    inbox_reset_stuck,
    inbox_store,
    inbox_sweep,
)
from creatorflow.inbox.tasks import process_inbound_event
from creatorflow.inbox.tests.factories import InboundEventFactory
from creatorflow.resilience.heartbeat import STALE_AFTER

pytestmark = pytest.mark.django_db

Status = InboundEvent.Status


def let_retry_come_due(event: InboundEvent) -> None:
    """Time passes: the event's next attempt is due."""
    InboundEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


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

    # then the first attempt failed and the next one waits for the policy's backoff, with no message
    # sleeping anywhere: the row is due later and nothing is sent for it yet
    event.refresh_from_db()
    assert (event.status, event.attempts, event.dispatched_at) == (Status.FAILED, 1, None)
    assert "always fails" in event.last_error
    wait = (event.next_attempt_at - event.processing_finished_at).total_seconds()
    assert INBOX_RETRY.base_seconds / 2 <= wait <= INBOX_RETRY.base_seconds
    assert inbox_sweep()["sent"] == 0

    # when every retry comes due and the sweep sends it
    for attempt in range(2, INBOX_RETRY.max_attempts + 1):
        let_retry_come_due(event)
        assert inbox_sweep()["sent"] == 1
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
    assert inbox_sweep()["sent"] == 0
    assert process_inbound_event.apply(args=[event.pk]).get() == "skipped"
    assert attempts_made("evt-boom") == INBOX_RETRY.max_attempts


def test_a_failure_that_names_a_wait_is_not_retried_sooner(celery_eager):
    # given an event whose handler fails the way an open breaker does: "try again in 600 s"
    event = InboundEventFactory(event_type="breaker_open")

    # when it is processed
    inbox_process(event_id=event.pk)

    # then it is due no sooner than the breaker's remaining time, although the backoff says 15 s
    event.refresh_from_db()
    assert event.status == Status.FAILED
    assert (event.next_attempt_at - event.processing_finished_at).total_seconds() >= 600


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


def test_an_event_stored_during_a_request_is_sent_by_the_relay_at_once(celery_eager, client):
    # given an event stored while answering a webhook request (the request never publishes)
    from creatorflow.outbox.publishing import defer_dispatch

    with defer_dispatch():
        event, _ = inbox_store(provider="test", external_id="evt-req", event_type="record", body=b"{}")
    event.refresh_from_db()
    assert (event.status, event.dispatched_at) == (Status.RECEIVED, None)

    # when the relay runs, with no grace period to wait out
    sent = relay_pass()

    # then it was sent and processed
    event.refresh_from_db()
    assert sent == 1
    assert event.status == Status.DONE
    assert Account.objects.filter(name="effect:evt-req").count() == 1


def test_the_sweep_sends_an_event_the_broker_never_got_without_waiting(celery_eager):
    # given an event received a moment ago whose message could not be sent (broker down then)
    event = InboundEventFactory(event_type="record")

    # when the sweep runs
    counts = inbox_sweep()

    # then it was sent and processed at once
    event.refresh_from_db()
    assert counts["sent"] == 1
    assert event.status == Status.DONE
    assert Account.objects.filter(name=f"effect:{event.external_id}").count() == 1


def test_an_event_whose_message_was_just_sent_is_left_to_it(celery_eager):
    # given an event whose message went to the broker a moment ago
    event = InboundEventFactory(event_type="record", dispatched_at=timezone.now())

    # when the sweep runs
    counts = inbox_sweep()

    # then it is not sent again
    event.refresh_from_db()
    assert counts["sent"] == 0 and counts["recovered"] == 0
    assert event.status == Status.RECEIVED


def test_event_whose_worker_stopped_beating_is_processed_again(celery_eager):
    # given an event whose worker died mid-way: its heartbeat stopped longer ago than STALE_AFTER
    beat = timezone.now() - timedelta(seconds=STALE_AFTER + 5)
    event = InboundEventFactory(
        event_type="record",
        status=Status.PROCESSING,
        attempts=1,
        processing_started_at=beat - timedelta(seconds=30),
        heartbeat_at=beat,
        dispatched_at=beat - timedelta(seconds=31),
    )

    # when the sweep runs
    counts = inbox_sweep()

    # then the lost attempt counts, and the event is processed again to done
    event.refresh_from_db()
    assert counts["reset"] == 1
    assert (event.status, event.attempts) == (Status.DONE, 2)
    assert Account.objects.filter(name=f"effect:{event.external_id}").count() == 1


def test_a_long_event_whose_worker_still_beats_is_left_alone(celery_eager):
    # given an event a worker has been processing for ten minutes, its heartbeat fresh
    event = InboundEventFactory(
        status=Status.PROCESSING,
        attempts=1,
        processing_started_at=timezone.now() - timedelta(minutes=10),
        heartbeat_at=timezone.now() - timedelta(seconds=2),
    )

    # when the sweep runs
    inbox_sweep()

    # then it still belongs to that worker
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.PROCESSING, 1)


def test_stuck_event_on_its_last_attempt_becomes_dead():
    # given an event that lost its worker on its last allowed attempt
    beat = timezone.now() - timedelta(seconds=STALE_AFTER + 5)
    event = InboundEventFactory(
        status=Status.PROCESSING,
        attempts=INBOX_RETRY.max_attempts,
        processing_started_at=beat,
        heartbeat_at=beat,
    )

    # when the stuck events are reset
    inbox_reset_stuck()

    # then it is parked as dead for staff, with the reason
    event.refresh_from_db()
    assert event.status == Status.DEAD
    assert "stopped reporting" in event.last_error


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_running_claim_fresh(monkeypatch):
    # given a handler that runs for several heartbeats
    from creatorflow.resilience import heartbeat

    monkeypatch.setattr(heartbeat, "BEAT_SECONDS", 0.05)
    event = InboundEventFactory(event_type="slow")

    # when it runs
    inbox_process(event_id=event.pk)

    # then the claim was renewed while it ran (the handler saw its own row's heartbeat move on)
    seen = list(
        Account.objects.filter(name__startswith=f"beat:{event.external_id}:").values_list("name", flat=True)
    )
    assert len(set(seen)) >= 2


def drive_to_dead(event: InboundEvent) -> None:
    for _ in range(INBOX_RETRY.max_attempts):
        let_retry_come_due(event)
        inbox_process(event_id=event.pk)
    event.refresh_from_db()
    assert event.status == Status.DEAD


def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_replay_action_reprocesses_a_dead_event(client, celery_eager):
    # given an event that died while its dependency was down, and a done event selected alongside it
    dead = InboundEventFactory(event_type="needs_fix")
    drive_to_dead(dead)
    done = InboundEventFactory(event_type="record")
    inbox_process(event_id=done.pk)
    # and the dependency is back
    Account.objects.create(name=f"fixed:{dead.external_id}")

    # when staff replay both from the admin
    response = staff_client(client).post(
        reverse("admin:inbox_inboundevent_changelist"),
        {"action": "replay_events", "_selected_action": [dead.pk, done.pk]},
        follow=True,
    )

    # then the dead event got a fresh attempt budget and waits for the relay (the request sent nothing)
    assert response.status_code == 200
    assert "Replayed 1 event(s)." in response.content.decode()
    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.dispatched_at) == (Status.RECEIVED, 0, None)
    # and once the relay sends it, it runs once and is done
    assert relay_pass() == 1
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
