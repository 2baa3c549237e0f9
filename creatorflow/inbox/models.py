"""Received webhooks, stored exactly once and processed by a task.

One `InboundEvent` per (provider, external_id): the unique constraint, not an exists-then-insert
check, is what makes a platform's retries and duplicate deliveries harmless. The raw body is kept
byte for byte so a signature can be re-verified and an event replayed exactly as it arrived.
"""

from __future__ import annotations

import json

from django.db import models
from django.db.models import Q
from django.utils import timezone


class InboundEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead (needs replay)"


# A task may claim an event only from these states (see services.inbox_process).
CLAIMABLE_STATUSES = (InboundEventStatus.RECEIVED, InboundEventStatus.FAILED)


class InboundEvent(models.Model):
    Status = InboundEventStatus

    provider = models.CharField(max_length=32, help_text="Who sent it: tiktok, stripe, easypost, shippo…")
    external_id = models.CharField(max_length=255, help_text="The sender's event id (the dedupe key).")
    event_type = models.CharField(max_length=100, blank=True)
    source = models.CharField(
        max_length=100,
        blank=True,
        help_text="Who at the provider it concerns (a TikTok shop id, a Stripe account…): scopes it to a tenant.",
    )
    body = models.BinaryField(help_text="The raw request body, byte for byte.")
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    ignored = models.BooleanField(default=False, help_text="Done without work: no handler for this type.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processing_finished_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a received or failed event is due; the relay sends it then."
    )
    dispatched_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the message for the current attempt was sent; empty: not sent yet (the relay sends it).",
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Renewed while a worker processes it; stale means the worker died."
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="inbox_event_provider_external_id_uniq"
            ),
        ]
        indexes = [
            # The beat sweeper: only the few rows still waiting, so the index stays small.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["received", "failed"]),
                name="inbox_event_due_idx",
            ),
            # The relay: due events whose message is not sent yet, and sent ones it may find lost.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["received", "failed"], dispatched_at__isnull=True),
                name="inbox_event_unsent_idx",
            ),
            models.Index(
                fields=["dispatched_at"],
                condition=Q(status__in=["received", "failed"], dispatched_at__isnull=False),
                name="inbox_event_sent_idx",
            ),
            models.Index(
                fields=["processing_started_at"],
                condition=Q(status="processing"),
                name="inbox_event_processing_idx",
            ),
            # Admin filters and the health check's success rate over recent events.
            models.Index(fields=["status", "received_at"], name="inbox_event_status_recv_idx"),
            models.Index(fields=["provider", "event_type", "received_at"], name="inbox_event_type_recv_idx"),
            models.Index(fields=["provider", "source", "received_at"], name="inbox_event_source_recv_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or '?'} {self.external_id}"

    @property
    def body_bytes(self) -> bytes:
        # PostgreSQL hands BinaryField back as a memoryview, SQLite as bytes.
        return bytes(self.body) if self.body is not None else b""

    def body_text(self) -> str:
        return self.body_bytes.decode("utf-8", errors="replace")

    def body_json(self):
        return json.loads(self.body_bytes)
