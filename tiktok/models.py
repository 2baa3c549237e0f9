"""TikTok Shop connections. The integration issue adds tokens, sync state and the client; orders
already need to know which shop they came from."""

from __future__ import annotations

import uuid

from django.db import models

from accounts.models import Account


class Shop(models.Model):
    """One TikTok Shop of an account. `shop_id` is TikTok's id (a string: ids exceed 2^53)."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        SYNCING = "syncing", "Syncing"
        ERROR = "error", "Error"
        DISCONNECTED = "disconnected", "Disconnected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="shops")
    shop_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.CONNECTED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["shop_id"], name="tiktok_shop_id_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.shop_id})"
