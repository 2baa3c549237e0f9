"""In-app notifications for an account and each member's delivery preferences."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}


class NotificationQuerySet(models.QuerySet):
    def for_member(self, *, account, user):
        """What `user` sees in `account`: the account-wide ones and those addressed to them."""
        return self.filter(account=account).filter(models.Q(user__isnull=True) | models.Q(user=user))

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """Something a creator should know. `user` empty means every member of the account."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        help_text="Only this member; empty for every member of the account.",
    )
    kind = models.CharField(
        max_length=64, help_text="Machine-readable, e.g. stock.low or order.needs_attention."
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(
        max_length=500, blank=True, help_text="Where to act on it, a path such as /orders/…"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True, help_text="When the email task claimed it.")

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="notif_account_created"),
            models.Index(
                fields=["account"], condition=models.Q(read_at__isnull=True), name="notif_account_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """How one member of one account wants to hear about notifications beyond the bell."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="notification_preferences"
    )
    email_enabled = models.BooleanField(default=True)
    email_min_severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        default=Severity.WARNING,
        help_text="Email notifications of this severity and above.",
    )
    phone_number = models.CharField(max_length=32, blank=True, help_text="For SMS alerts (coming later).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="notifications_preference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account}"

    def wants_email(self, severity: str) -> bool:
        return (
            self.email_enabled
            and SEVERITY_RANK[Severity(severity)] >= SEVERITY_RANK[Severity(self.email_min_severity)]
        )


# Members without a stored preference get these.
DEFAULT_EMAIL_MIN_SEVERITY = Severity.WARNING
