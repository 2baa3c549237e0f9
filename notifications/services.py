"""Writes for notifications: create (and email after commit), mark read, preferences, delivery."""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from creatorflow.core.errors import DomainError
from creatorflow.outbox.facade import outbox_enqueue

from . import selectors
from .models import Notification, NotificationPreference, Severity

logger = logging.getLogger(__name__)


class EmailDeliveryFailed(DomainError):
    """The mail server refused or could not be reached; the task retries."""

    code = "email_delivery_failed"
    http_status = 503


def notify(
    *,
    account,
    kind: str,
    severity: str,
    title: str,
    body: str = "",
    link: str = "",
    user=None,
) -> Notification:
    """Store an in-app notification for `account` (or only for `user`, a member) and email it.

    The email goes out after the surrounding transaction commits, through the outbox (task
    `notifications.send_email`, ids only), to the members whose preference asks for this severity
    (default: warning and critical). The outbox row is written in the same transaction as the
    notification, so a broker that is down at commit delays the email (beat re-sends it) rather than
    losing it. Safe to call inside a caller's transaction: if that rolls back, neither the
    notification nor the email exists.
    """
    severity = Severity(severity)  # ValueError on anything else
    with transaction.atomic():
        notification = Notification.objects.create(
            account=account, user=user, kind=kind, severity=severity, title=title[:200], body=body, link=link
        )
        if selectors.anyone_may_want_email(account_id=account.pk, severity=severity):
            outbox_enqueue(
                task="notifications.send_email",
                kwargs={"notification_id": str(notification.pk)},
                key=f"notification-email:{notification.pk}",
            )
    return notification


def notification_mark_read(*, notification: Notification, actor) -> Notification:
    """Mark one notification read (for every member: read state is per notification). Idempotent."""
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notification_mark_all_read(*, account, actor) -> int:
    """Mark every unread notification `actor` sees in `account` read. Returns how many changed."""
    return (
        Notification.objects.for_member(account=account, user=actor).unread().update(read_at=timezone.now())
    )


def preference_update(
    *, account, actor, email_enabled: bool, email_min_severity: str, phone_number: str = ""
) -> NotificationPreference:
    """Create or update `actor`'s own preference in `account`."""
    preference, _ = NotificationPreference.objects.update_or_create(
        account=account,
        user=actor,
        defaults={
            "email_enabled": email_enabled,
            "email_min_severity": Severity(email_min_severity),
            "phone_number": phone_number.strip(),
        },
    )
    return preference


def _absolute(link: str) -> str:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{base}{link}" if link.startswith("/") and base else link


def notification_send_email(*, notification_id) -> int:
    """Email one notification to the members who want it. Returns the number of emails sent.

    At most once per notification: the conditional UPDATE on `emailed_at` claims it, so a
    redelivered task (acks_late) finds it claimed and sends nothing. The claim is released when
    sending fails, so a retry sends again. Nothing is held open while talking to the mail server.
    """
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return 0  # already sent, or deleted
    notification = Notification.objects.select_related("account").get(pk=notification_id)
    recipients = selectors.email_recipients(notification=notification)
    if not recipients:
        return 0
    context = {"notification": notification, "link": _absolute(notification.link)}
    subject = f"[CreatorFlow] {notification.title}"
    if notification.severity == Severity.CRITICAL:
        subject = f"[CreatorFlow] Critical: {notification.title}"
    text = render_to_string("notifications/email/notification.txt", context)
    # One message per member: nobody sees the other members' addresses.
    messages = [EmailMessage(subject=subject, body=text, to=[address]) for address in recipients]
    try:
        sent = get_connection().send_messages(messages) or 0
    except (smtplib.SMTPException, OSError) as exc:
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)
        raise EmailDeliveryFailed(f"Sending notification email failed: {type(exc).__name__}") from exc
    logger.info("notification %s emailed to %d member(s)", notification_id, sent)
    return sent
