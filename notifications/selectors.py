"""Reads for notifications. Every read takes the account (and the member) explicitly."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from .models import DEFAULT_EMAIL_MIN_SEVERITY, Notification, NotificationPreference, Severity


def notification_list(*, account, user, unread_only: bool = False):
    """The member's notifications in `account`, newest first (a queryset, for pagination)."""
    qs = Notification.objects.for_member(account=account, user=user)
    if unread_only:
        qs = qs.unread()
    return qs.order_by("-created_at", "-id")


def notification_unread_count(*, account, user) -> int:
    if account is None or user is None or not user.is_authenticated:
        return 0
    return Notification.objects.for_member(account=account, user=user).unread().count()


def notification_get(*, account, user, notification_id) -> Notification:
    """The member's notification with this id; `Notification.DoesNotExist` for anyone else's."""
    return Notification.objects.for_member(account=account, user=user).get(pk=notification_id)


def preference_for(*, account, user) -> NotificationPreference:
    """The stored preference, or an unsaved one with the defaults."""
    found = NotificationPreference.objects.filter(account=account, user=user).first()
    return found or NotificationPreference(account=account, user=user)


def email_recipients(*, notification: Notification) -> list[str]:
    """Addresses of active members who want this notification by email, by their preference.

    A member without a stored preference gets email for warning and above.
    """
    users = get_user_model().objects.filter(memberships__account_id=notification.account_id, is_active=True)
    if notification.user_id is not None:
        users = users.filter(pk=notification.user_id)
    prefs = {
        p.user_id: p
        for p in NotificationPreference.objects.filter(account_id=notification.account_id, user__in=users)
    }
    default = NotificationPreference(email_enabled=True, email_min_severity=DEFAULT_EMAIL_MIN_SEVERITY)
    return sorted(
        user.email
        for user in users.order_by("email")
        if prefs.get(user.pk, default).wants_email(notification.severity)
    )


def anyone_may_want_email(*, account_id, severity: str) -> bool:
    """Cheap pre-check so that info notifications (frequent, rarely emailed) queue no task."""
    if severity != Severity.INFO:
        return True
    return NotificationPreference.objects.filter(
        account_id=account_id, email_enabled=True, email_min_severity=Severity.INFO
    ).exists()
