"""The audit log: who did what to which object, when, from where. Append-only.

Rows are written by services through `creatorflow.audit.services.audit_log`, inside the service's own
transaction, so an entry exists exactly when the change it describes was committed.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AuditLogEntry(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The user when a person acted; kept NULL for system work. `actor_label` always says who it was
    # in words ("system", "celery", the user's email at the time) and survives the user's deletion.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=100, help_text='Dotted verb, e.g. "stock.adjusted".')
    target_content_type = models.ForeignKey(
        ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_object_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="{field: [old, new]}"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["account", "-created_at"], name="audit_account_time"),
            models.Index(fields=["target_content_type", "target_object_id"], name="audit_target"),
            models.Index(fields=["action", "-created_at"], name="audit_action_time"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        target = f" {self.target_repr}" if self.target_repr else ""
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}{target}"
