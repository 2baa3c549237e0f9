"""notify(): stores the in-app notification and emails, after commit, the members who want it."""

import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import AccountFactory, MembershipFactory
from creatorflow.outbox.models import OutboxMessage
from creatorflow.outbox.services import outbox_redispatch
from notifications.facade import notify
from notifications.models import Notification, Severity
from notifications.services import EmailDeliveryFailed, notification_send_email

from .factories import NotificationFactory, NotificationPreferenceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    """An account with three members: default preferences, opted out, critical only."""
    account = AccountFactory(name="Glow Labs")
    MembershipFactory(account=account, user__email="default@example.com")
    opted_out = MembershipFactory(account=account, user__email="optout@example.com").user
    critical_only = MembershipFactory(account=account, user__email="critical@example.com").user
    NotificationPreferenceFactory(user=opted_out, account=account, email_enabled=False)
    NotificationPreferenceFactory(user=critical_only, account=account, email_min_severity=Severity.CRITICAL)
    return account


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def test_notify_stores_the_notification_and_emails_members_who_want_it_after_commit(
    team, celery_eager, django_capture_on_commit_callbacks
):
    # given a member of another account, who must never hear about this one
    MembershipFactory(user__email="stranger@example.com")

    # when a warning is raised and the transaction commits
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = notify(
            account=team,
            kind="stock.low",
            severity="warning",
            title="Lip oil is running low",
            body="12 left, selling 4 an hour.",
            link="/inventory/",
        )

    # then it is stored for the account, unread
    stored = Notification.objects.get(pk=notification.pk)
    assert (stored.account, stored.kind, stored.severity) == (team, "stock.low", Severity.WARNING)
    assert (stored.title, stored.body, stored.link, stored.read_at) == (
        "Lip oil is running low",
        "12 left, selling 4 an hour.",
        "/inventory/",
        None,
    )
    # and one email task was queued on commit, which emailed only the member with default preferences
    assert len(callbacks) == 1
    assert recipients() == ["default@example.com"]
    message = mail.outbox[0]
    assert "Lip oil is running low" in message.subject
    assert "12 left, selling 4 an hour." in message.body and "/inventory/" in message.body
    assert stored.emailed_at is not None


def test_nothing_is_emailed_before_the_transaction_commits(
    team, celery_eager, django_capture_on_commit_callbacks
):
    # given / when a notification is created inside a transaction that has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(account=team, kind="order.failed", severity="critical", title="Label purchase failed")

    # then no email went out yet, one is waiting for the commit
    assert mail.outbox == []
    assert len(callbacks) == 1
    # when the commit happens
    callbacks[0]()
    # then members who want critical email get it; the opted-out member does not
    assert recipients() == ["critical@example.com", "default@example.com"]


def test_info_is_not_emailed_by_default_and_queues_no_task(
    team, celery_eager, django_capture_on_commit_callbacks
):
    # when an info notification is raised
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(account=team, kind="sync.done", severity="info", title="First sync finished")

    # then it is in-app only
    assert callbacks == []
    assert mail.outbox == []
    assert Notification.objects.filter(account=team, kind="sync.done").count() == 1


def test_a_member_who_asked_for_info_gets_info_email(team, celery_eager, django_capture_on_commit_callbacks):
    # given a member who wants every notification by email
    chatty = MembershipFactory(account=team, user__email="everything@example.com").user
    NotificationPreferenceFactory(user=chatty, account=team, email_min_severity=Severity.INFO)

    # when an info notification is raised
    with django_capture_on_commit_callbacks(execute=True):
        notify(account=team, kind="sync.done", severity="info", title="First sync finished")

    # then only that member is emailed
    assert recipients() == ["everything@example.com"]


def test_a_notification_for_one_member_emails_only_that_member(
    team, celery_eager, django_capture_on_commit_callbacks
):
    # given two members who both want warnings by email
    one = MembershipFactory(account=team, user__email="one@example.com").user

    # when a warning addressed to one of them is raised
    with django_capture_on_commit_callbacks(execute=True):
        notify(account=team, user=one, kind="invite.accepted", severity="warning", title="For you")

    # then only they are emailed
    assert recipients() == ["one@example.com"]


def test_each_member_gets_their_own_email(team, celery_eager, django_capture_on_commit_callbacks):
    # when a critical notification goes to two members
    with django_capture_on_commit_callbacks(execute=True):
        notify(account=team, kind="stock.out", severity="critical", title="Sold out")

    # then each message has one recipient, so nobody sees the others' addresses
    assert sorted(len(m.to) for m in mail.outbox) == [1, 1]


def test_a_redelivered_email_task_sends_nothing_twice(team):
    # given a warning notification whose email was already sent
    notification = NotificationFactory(account=team, severity=Severity.WARNING)
    assert notification_send_email(notification_id=notification.pk) == 1

    # when the task runs again (acks_late redelivery after a worker crash)
    sent_again = notification_send_email(notification_id=notification.pk)

    # then no second email goes out
    assert sent_again == 0
    assert len(mail.outbox) == 1


def test_an_unknown_severity_is_refused(team):
    # when / then
    with pytest.raises(ValueError):
        notify(account=team, kind="x", severity="catastrophic", title="?")
    assert not Notification.objects.exists()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_failed_smtp_delivery_releases_the_claim_for_a_retry(team, settings):
    # given a mail server that is not there
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    notification = NotificationFactory(account=team, severity=Severity.CRITICAL)

    # when the email task tries to send
    with pytest.raises(EmailDeliveryFailed):
        notification_send_email(notification_id=notification.pk)

    # then the notification is not marked as emailed, so the retry sends it
    notification.refresh_from_db()
    assert notification.emailed_at is None


def test_the_email_survives_a_broker_outage_at_commit(
    team, unreachable_broker, django_capture_on_commit_callbacks, request
):
    # given: the broker is unreachable when the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(account=team, kind="stock.out", severity="critical", title="Sold out")

    # then: the email waits in the outbox, written with the notification, not lost
    message = OutboxMessage.objects.get(key=f"notification-email:{notification.pk}")
    assert message.task == "notifications.send_email" and message.status == "pending"
    assert "dispatch failed" in message.last_error
    assert mail.outbox == []

    # when: the broker is back and beat re-dispatches (run in process, as a worker would)
    unreachable_broker()
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    request.getfixturevalue("celery_eager")  # the worker runs what beat sends, in process
    outbox_redispatch()

    # then: the members who want critical emails get it, once
    message.refresh_from_db()
    assert message.status == "done"
    assert recipients() == ["critical@example.com", "default@example.com"]
