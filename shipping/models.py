"""Carriers, shipments, labels, tracking and label batches.

- `CarrierAccount`: one way an account buys labels (the built-in sandbox, EasyPost or Shippo), with its
  credentials encrypted, an order of preference and the services it may use.
- `ShippingProfile`: the account's rate-shopping policy, label format and default ship-from warehouse
  (ship-from addresses are the inventory app's warehouses).
- `PackagePreset`: the boxes and mailers the account packs in; the smallest that fits is chosen.
- `Shipment`: the order's label. At most one live (not voided) shipment per order. `LabelAttempt`
  rows are the purchase attempts: each is stored with its idempotency key *before* the carrier is
  called, so a crash or a timeout is reconciled with the carrier before anything is bought again.
- `TrackingEvent`: what the carrier said about the parcel (webhooks, sandbox progression).
- `LabelBatch` / `LabelBatchItem`: up to 500 orders bought together, with progress and one merged PDF.
- `SandboxParcel`: the built-in sandbox carrier's own state (its "server side").
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from creatorflow.fields import EncryptedTextField


def new_webhook_token() -> str:
    return secrets.token_urlsafe(24)


def webhook_token_hash(token: str) -> str:
    """What we keep of a carrier account's webhook URL token: its SHA-256 (the token is random, so a
    plain hash is enough; it is looked up by this value and compared in constant time)."""
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


def _unknown_token_hash() -> str:
    # A new row's token is issued (and shown once) by the service; until then nobody holds one.
    return webhook_token_hash(new_webhook_token())


class Provider(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox (built in)"
    EASYPOST = "easypost", "EasyPost"
    SHIPPO = "shippo", "Shippo"


class RatePolicy(models.TextChoices):
    CHEAPEST = "cheapest", "Cheapest"
    FASTEST = "fastest", "Fastest"
    CHEAPEST_ON_TIME = "cheapest_on_time", "Cheapest that arrives before TikTok's deadline"


class LabelFormat(models.TextChoices):
    PDF = "pdf", "PDF 4×6"
    ZPL = "zpl", "ZPL (thermal printer)"


class CarrierAccount(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="carrier_accounts")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    name = models.CharField(max_length=120)
    api_key = EncryptedTextField(blank=True, default="", help_text="The provider's API key (encrypted).")
    enabled = models.BooleanField(default=True)
    preference = models.PositiveSmallIntegerField(default=0, help_text="Lower is tried first on a tie.")
    services_allowed = models.JSONField(
        default=list, blank=True, help_text='Allowed "CARRIER:service" pairs or carriers; empty allows all.'
    )
    options = models.JSONField(default=dict, blank=True, help_text="Provider options (sandbox faults).")
    webhook_token_hash = models.CharField(
        max_length=64,
        default=_unknown_token_hash,
        unique=True,
        help_text="SHA-256 of the token in this account's tracking webhook URL (the token is shown once).",
    )
    webhook_secret = EncryptedTextField(
        blank=True,
        default="",
        help_text="The key EasyPost (or the sandbox) signs this account's webhooks with.",
    )
    webhook_issued_at = models.DateTimeField(null=True, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["preference", "created_at"]
        indexes = [models.Index(fields=["account", "enabled", "preference"], name="ship_carrier_acct_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"


class ShippingProfile(models.Model):
    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="shipping_profile")
    rate_policy = models.CharField(max_length=20, choices=RatePolicy.choices, default=RatePolicy.CHEAPEST)
    label_format = models.CharField(max_length=3, choices=LabelFormat.choices, default=LabelFormat.PDF)
    ship_from = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verify_addresses = models.BooleanField(
        default=True, help_text="Ask the carrier (EasyPost) to verify addresses when one is configured."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Shipping profile of {self.account}"


class PackagePreset(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="package_presets")
    name = models.CharField(max_length=60)
    length_mm = models.PositiveIntegerField()
    width_mm = models.PositiveIntegerField()
    height_mm = models.PositiveIntegerField()
    tare_grams = models.PositiveIntegerField(default=0, help_text="The empty box's weight.")
    max_weight_grams = models.PositiveIntegerField(default=0, help_text="0: no limit.")

    class Meta:
        ordering = ["length_mm", "width_mm", "height_mm"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="shipping_preset_name_unique"),
            models.CheckConstraint(
                condition=Q(length_mm__gt=0, width_mm__gt=0, height_mm__gt=0),
                name="shipping_preset_dims_gt_0",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", "Buying label"
    # Every carrier was down or refused for a passing reason: bought later on its own (`retry_at`).
    WAITING = "waiting", "Waiting for carrier"
    PURCHASED = "purchased", "Label purchased"
    SHIPPED = "shipped", "Shipped"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    RETURNED = "returned", "Returned"
    EXCEPTION = "exception", "Exception"
    FAILED = "failed", "No label could be bought"
    VOIDED = "voided", "Voided"


class FailureKind(models.TextChoices):
    TRANSIENT = "transient", "May pass on its own"
    PERMANENT = "permanent", "Needs a person"


# A voided or failed shipment no longer holds the order: it may get a new one.
ENDED_SHIPMENT_STATUSES = (ShipmentStatus.VOIDED, ShipmentStatus.FAILED)
LIVE_SHIPMENT = ~Q(status__in=list(ENDED_SHIPMENT_STATUSES))


class Shipment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="shipments")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipments")
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.PENDING)
    carrier_account = models.ForeignKey(
        CarrierAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="shipments"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices, blank=True)
    carrier = models.CharField(max_length=40, blank=True, help_text="USPS, UPS, FedEx…")
    service = models.CharField(max_length=80, blank=True)
    rate_amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    est_delivery_days = models.PositiveSmallIntegerField(null=True, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True, db_index=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    label_file = models.FileField(upload_to="labels/%Y/%m/%d/", blank=True)
    label_format = models.CharField(max_length=3, choices=LabelFormat.choices, default=LabelFormat.PDF)
    provider_shipment_id = models.CharField(max_length=100, blank=True)
    provider_label_id = models.CharField(max_length=100, blank=True)
    parcel = models.JSONField(default=dict, blank=True)
    from_address = models.JSONField(default=dict, blank=True)
    to_address = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="Each carrier's error when buying failed.")
    # --- purchase waits and batch outcomes: a purchase every carrier failed for a passing reason
    retry_at = models.DateTimeField(null=True, blank=True, help_text="Waiting: the next purchase try.")
    retry_count = models.PositiveSmallIntegerField(default=0, help_text="Tries that ended waiting.")
    wait_reason = models.CharField(max_length=500, blank=True, help_text="Why it waits, for the creator.")
    failure_kind = models.CharField(
        max_length=10,
        choices=FailureKind.choices,
        blank=True,
        help_text="Failed: whether the cause may pass on its own (the sweep retries those).",
    )
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A worker is buying until then.")
    created_at = models.DateTimeField(default=timezone.now)
    purchased_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=LIVE_SHIPMENT, name="shipping_one_live_per_order"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status", "-created_at"], name="ship_acct_status_idx"),
            models.Index(fields=["account", "-created_at"], name="ship_acct_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number or '(no label yet)'}"


class AttemptState(models.TextChoices):
    STARTED = "started", "Started"
    BOUGHT = "bought", "Bought"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (timed out; reconcile before buying again)"


class LabelAttempt(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="attempts")
    idempotency_key = models.CharField(max_length=64, unique=True)
    carrier_account = models.ForeignKey(
        CarrierAccount, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    carrier = models.CharField(max_length=40, blank=True)
    service = models.CharField(max_length=80, blank=True)
    rate_id = models.CharField(max_length=100, blank=True)
    provider_shipment_id = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    state = models.CharField(max_length=10, choices=AttemptState.choices, default=AttemptState.STARTED)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.idempotency_key} {self.state}"


class TrackingEvent(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="tracking_events")
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices)
    message = models.CharField(max_length=300, blank=True)
    location = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=20, help_text="easypost, shippo, sandbox")
    external_id = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "status", "occurred_at"], name="shipping_tracking_event_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"


class LabelBatch(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        PARTIAL = "partial", "Done with failures"

    MAX_ORDERS = 500

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="label_batches")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    merged_pdf = models.FileField(upload_to="batches/%Y/%m/%d/", blank=True)
    merged_pages = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="ship_batch_acct_idx")]

    def __str__(self) -> str:
        return f"Batch of {self.total} ({self.status})"


class LabelBatchItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Buying label"
        # The label is bought and TikTok is being told; not done until TikTok accepted it.
        LABELLED = "labelled", "Label bought, handing to TikTok"
        WAITING = "waiting", "Waiting for carrier"
        DONE = "done", "Shipped"
        FAILED = "failed", "Not shipped"

    batch = models.ForeignKey(LabelBatch, on_delete=models.CASCADE, related_name="items")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=1000, blank=True)
    shipment = models.ForeignKey(Shipment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["batch", "order"], name="shipping_batch_order_unique")]
        indexes = [models.Index(fields=["batch", "status"], name="ship_batch_item_status_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.status}"


class SandboxWebhookEndpoint(models.Model):
    """Where the sandbox carrier sends one customer's tracking webhooks, and the secret it signs them
    with: the carrier's side of the webhook set-up (what a creator enters in EasyPost's dashboard).
    Kept in our database because the sandbox is built in; `customer` is the carrier account's id."""

    customer = models.CharField(max_length=64, unique=True)
    token = EncryptedTextField()
    secret = EncryptedTextField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"sandbox webhooks of {self.customer}"


class SandboxParcel(models.Model):
    """The sandbox carrier's record of a label it sold (its server-side state, kept in our database
    because the sandbox is built in). Tracking progresses with time; beat sends the webhooks to the
    endpoint its customer registered."""

    customer = models.CharField(max_length=64, blank=True, help_text="Who bought it: the carrier account id.")
    tracking_number = models.CharField(max_length=40, unique=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    carrier = models.CharField(max_length=20)
    service = models.CharField(max_length=60)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)
    voided = models.BooleanField(default=False)
    notified_status = models.CharField(max_length=20, blank=True, help_text="Last status sent as a webhook.")

    class Meta:
        indexes = [models.Index(fields=["voided", "notified_status"], name="ship_sandbox_progress_idx")]

    def __str__(self) -> str:
        return self.tracking_number
