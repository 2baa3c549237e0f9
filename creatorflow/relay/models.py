"""Relay processes report here, so health can tell whether anyone is sending (DESIGN.md, health)."""

from __future__ import annotations

from django.db import models


class RelayBeat(models.Model):
    """One row per relay process (host and pid), renewed every few seconds while it runs."""

    name = models.CharField(max_length=200, unique=True, help_text="host:pid of the relay process.")
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()
    sent = models.PositiveBigIntegerField(default=0, help_text="Messages sent since it started.")
    recovered = models.PositiveBigIntegerField(default=0, help_text="Lost or stuck rows made due again.")
    broker_ok = models.BooleanField(default=True, help_text="Whether its last send reached the broker.")

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return self.name
