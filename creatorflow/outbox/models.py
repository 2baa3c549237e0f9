"""The transactional outbox: a task that must run is a row written in the caller's transaction.

If the transaction rolls back, the row (and so the task) never existed; if it commits, the row is
dispatched on commit and, should the broker be down or the message be lost, re-dispatched by beat.
The unique `key` makes enqueueing idempotent (e.g. ``"order:<id>:purchase_label"``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending (not yet sent)"
    DISPATCHED = "dispatched", "Dispatched"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (gave up)"


# A delivery may start the task only from these states (see services.outbox_run).
CLAIMABLE_STATUSES = (OutboxStatus.PENDING, OutboxStatus.DISPATCHED)


class OutboxMessage(models.Model):
    Status = OutboxStatus

    task = models.CharField(max_length=200, help_text="The Celery task's registered name.")
    kwargs = models.JSONField(default=dict, blank=True, help_text="Keyword arguments: ids, never objects.")
    queue = models.CharField(max_length=32, default="default")
    key = models.CharField(max_length=255, unique=True, help_text="Idempotency key: one message per key.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Runs started.")
    dispatches = models.PositiveIntegerField(default=0, help_text="Messages sent to the broker.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        default=timezone.now, help_text="The task may not start before this (a delay, or retry backoff)."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Renewed while a worker runs it; stale means the worker died."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The beat re-dispatcher reads only unfinished rows; partial indexes keep that cheap.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="outbox_pending_due_idx"
            ),
            models.Index(
                fields=["dispatched_at"], condition=Q(status="dispatched"), name="outbox_dispatched_idx"
            ),
            models.Index(fields=["started_at"], condition=Q(status="running"), name="outbox_running_idx"),
            models.Index(fields=["status", "created_at"], name="outbox_status_created_idx"),
            models.Index(fields=["task", "created_at"], name="outbox_task_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task} [{self.key}] {self.status}"
