"""Orders from TikTok Shop, their items and timeline, and the creator's automation rules.

An order's `status` is our lifecycle (orders/lifecycle.py says which status may follow which; only
`order_transition` changes it). `tiktok_status` is TikTok's own, kept as TikTok last told us, with
`tiktok_update_time` guarding against an older update overwriting a newer one.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from inventory.models import SKU
from tiktok.models import Shop


class OrderStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    RESERVED = "reserved", "Reserved"
    HELD = "held", "Held for review"
    READY = "ready", "Ready to ship"
    LABEL_PURCHASED = "label_purchased", "Label purchased"
    SHIPPED = "shipped", "Shipped"
    IN_TRANSIT = "in_transit", "In transit"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    RETURNED = "returned", "Returned"
    BACKORDERED = "backordered", "Backordered"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"


class PriorityLevel(models.TextChoices):
    VIRAL = "VIRAL", "Viral"
    HIGH = "HIGH", "High"
    MED = "MED", "Medium"
    AUTO = "AUTO", "Auto"


class ProcessingQueue(models.TextChoices):
    EXPRESS = "express", "Express"
    STANDARD = "standard", "Standard"
    BULK = "bulk", "Bulk"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="orders")
    tiktok_order_id = models.CharField(max_length=64)
    tiktok_status = models.CharField(max_length=32)
    tiktok_update_time = models.BigIntegerField(default=0, help_text="TikTok's update_time (Unix seconds).")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.RECEIVED)

    # priority
    priority_level = models.CharField(max_length=5, choices=PriorityLevel.choices, default=PriorityLevel.AUTO)
    impact_score = models.PositiveSmallIntegerField(default=0)
    priority_reasons = models.JSONField(default=list, blank=True)
    priority_pinned = models.BooleanField(
        default=False, help_text="Set by a rule or a person; re-scoring keeps it."
    )
    processing_queue = models.CharField(
        max_length=10, choices=ProcessingQueue.choices, default=ProcessingQueue.STANDARD
    )

    # TikTok's times (UTC); ship_by = shipping_due_time, else rts_sla_time
    ship_by = models.DateTimeField(null=True, blank=True)
    placed_at = models.DateTimeField(null=True, blank=True, help_text="TikTok's create_time.")
    paid_at = models.DateTimeField(null=True, blank=True)
    rts_sla_time = models.DateTimeField(null=True, blank=True)
    tts_sla_time = models.DateTimeField(null=True, blank=True)
    shipping_due_time = models.DateTimeField(null=True, blank=True)
    collection_due_time = models.DateTimeField(null=True, blank=True)
    delivery_due_time = models.DateTimeField(null=True, blank=True)
    cancel_order_sla_time = models.DateTimeField(null=True, blank=True)

    # money (Decimal with a currency)
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    shipping_fee = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    # buyer and delivery
    buyer_email = models.CharField(max_length=254, blank=True)
    buyer_message = models.TextField(blank=True)
    recipient_name = models.CharField(max_length=200, blank=True)
    recipient = models.JSONField(default=dict, blank=True, help_text="TikTok's recipient_address.")
    country = models.CharField(max_length=2, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    delivery_option_id = models.CharField(max_length=64, blank=True)
    delivery_option_name = models.CharField(max_length=120, blank=True)
    shipping_type = models.CharField(max_length=10, blank=True, help_text="TIKTOK or SELLER")
    is_on_hold = models.BooleanField(default=False)
    is_sample = models.BooleanField(default=False)
    warehouse_id = models.CharField(max_length=64, blank=True, help_text="TikTok's warehouse id.")

    # what automation and people decided
    tags = models.JSONField(default=list, blank=True)
    hold_reason = models.CharField(max_length=500, blank=True)
    attention_reason = models.CharField(max_length=500, blank=True, help_text="Why it needs a person.")
    backorder_options = models.JSONField(default=list, blank=True)
    preferred_carrier = models.CharField(max_length=40, blank=True)
    preferred_service = models.CharField(max_length=60, blank=True)
    package_preset = models.CharField(max_length=60, blank=True)
    auto_ship = models.BooleanField(default=True)
    touched_by_human = models.BooleanField(default=False, help_text="A person acted on it (automation rate).")

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "tiktok_order_id"], name="orders_order_shop_tiktok_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["account", "status", "-impact_score"], name="orders_acct_status_score_idx"),
            models.Index(fields=["account", "-impact_score", "ship_by"], name="orders_acct_score_idx"),
            models.Index(fields=["account", "-created_at"], name="orders_acct_created_idx"),
            models.Index(fields=["account", "tiktok_order_id"], name="orders_acct_tiktok_id_idx"),
            models.Index(
                fields=["ship_by"],
                condition=Q(
                    status__in=["received", "reserved", "held", "ready", "backordered", "needs_attention"]
                ),
                name="orders_open_ship_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.tiktok_order_id} ({self.status})"

    @property
    def reservation_ref(self) -> str:
        """The order reference used for this order's stock reservations."""
        return f"order:{self.pk}"


class OrderItem(models.Model):
    """One SKU of an order. TikTok sends one line item per unit: `quantity` is their count, and
    `line_item_ids` keeps every TikTok line item id (partial shipments name them)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, null=True, blank=True, related_name="order_items")
    seller_sku = models.CharField(max_length=100, blank=True)
    tiktok_sku_id = models.CharField(max_length=64, blank=True)
    tiktok_product_id = models.CharField(max_length=64, blank=True)
    product_name = models.CharField(max_length=255, blank=True)
    sku_name = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    original_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    line_item_ids = models.JSONField(default=list)
    is_gift = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "tiktok_sku_id", "is_gift"], name="orders_item_order_sku_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_item_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.seller_sku or self.tiktok_sku_id}"


class OrderEvent(models.Model):
    """The order's timeline: every transition and every action, with who did it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(
        max_length=40, help_text='e.g. "status", "priority", "rules", "tag", "tiktok_update"'
    )
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="orders_event_order_time_idx")]

    def __str__(self) -> str:
        return f"{self.type}: {self.from_status}→{self.to_status} {self.message}"


class AutomationRule(models.Model):
    """An ordered rule: when its conditions match (all or any), its actions apply.

    `conditions`: [{"field": ..., "op": ..., "value": ...}], `actions`: [{"type": ..., ...}];
    their vocabulary and validation live in orders/rules.py.
    """

    class Match(models.TextChoices):
        ALL = "all", "All conditions"
        ANY = "any", "Any condition"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="automation_rules")
    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(default=list)
    actions = models.JSONField(default=list)
    stop_processing = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["account", "is_active", "position"], name="orders_rule_acct_pos_idx")]

    def __str__(self) -> str:
        return self.name
