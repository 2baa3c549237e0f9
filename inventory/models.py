"""Inventory: warehouses, products and SKUs, stock per warehouse, the ledger, reservations,
adjustments awaiting approval, alerts, suppliers and purchase orders.

Stock counters (`StockLevel.on_hand` / `reserved`) change only in `inventory.services`, by one
conditional UPDATE with F() expressions or under `select_for_update()` taken in primary-key order
(see `inventory/locking.py`). The database enforces `on_hand >= 0` and `0 <= reserved <= on_hand`,
so a bug elsewhere fails loudly instead of overselling. Every change of `on_hand` writes one
`InventoryTransaction` row in the same transaction; `ledger_reconcile` checks the two agree.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account


class Warehouse(models.Model):
    """A place stock ships from. `tiktok_warehouse_id` links it to the shop's warehouse."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="warehouses")
    name = models.CharField(max_length=120)
    code = models.CharField(max_length=20, help_text="Short code shown on pick lists, e.g. LA1.")
    is_default = models.BooleanField(default=False)
    tiktok_warehouse_id = models.CharField(max_length=64, blank=True)
    # ship-from address
    contact_name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US", help_text="ISO 3166-1 alpha-2")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "code"], name="inventory_warehouse_code_unique"),
            models.UniqueConstraint(
                fields=["account"], condition=Q(is_default=True), name="inventory_one_default_warehouse"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Supplier(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="suppliers")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    lead_time_days = models.PositiveIntegerField(default=7)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A listing (a TikTok product); its variants are SKUs."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DRAFT = "draft", "Draft"
        INACTIVE = "inactive", "Inactive"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=255)
    tiktok_product_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "tiktok_product_id"],
                condition=~Q(tiktok_product_id=""),
                name="inventory_product_tiktok_id_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SyncStatus(models.TextChoices):
    NEVER = "never", "Never synced"
    SYNCED = "synced", "Synced"
    PENDING = "pending", "Push pending"
    FAILED = "failed", "Sync failed"


class SKU(models.Model):
    """One stock-keeping unit (a TikTok SKU). The API calls it a "product" (CONTRACT.md section 3).

    `account` repeats `product.account` so that every tenant filter is one indexed column.
    `avg_monthly_sales` is refreshed by the velocity job; the low-stock threshold derives from it
    unless `low_stock_threshold` overrides it (see selectors.threshold_expression).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="skus")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
    seller_sku = models.CharField(max_length=100, help_text="The seller's own SKU code.")
    tiktok_sku_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255, help_text="Product name and variant, as shown to people.")
    variant = models.CharField(max_length=120, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    # parcel facts
    weight_grams = models.PositiveIntegerField(default=0)
    length_mm = models.PositiveIntegerField(default=0)
    width_mm = models.PositiveIntegerField(default=0)
    height_mm = models.PositiveIntegerField(default=0)
    location = models.CharField(max_length=40, blank=True, help_text="Bin or shelf, for pick lists.")
    # replenishment
    supplier = models.ForeignKey(
        Supplier, on_delete=models.SET_NULL, null=True, blank=True, related_name="skus"
    )
    lead_time_days = models.PositiveIntegerField(null=True, blank=True, help_text="Overrides the supplier's.")
    low_stock_threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the default."
    )
    auto_reorder = models.BooleanField(default=False)
    avg_monthly_sales = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # channel sync (CONTRACT: last_inventory_sync, inventory_sync_status)
    last_inventory_sync = models.DateTimeField(null=True, blank=True)
    inventory_sync_status = models.CharField(
        max_length=10, choices=SyncStatus.choices, default=SyncStatus.NEVER
    )
    sync_failures = models.PositiveIntegerField(default=0, help_text="Consecutive failed pushes.")
    is_active = models.BooleanField(default=True)
    # Stock summary: a read model for listing, filtering and sorting large catalogues without
    # computing every SKU's stock. Written only by inventory.services.summary after a change that
    # can move the status (alerts_evaluate), by the hourly sweep and the nightly velocity refresh.
    # Pages still show live figures; these only decide which rows a filter or sort picks.
    summary_status = models.CharField(
        max_length=12, default="out_of_stock", db_default="out_of_stock", editable=False
    )
    summary_available = models.IntegerField(default=0, db_default=0, editable=False)
    summary_days_of_cover = models.FloatField(null=True, blank=True, editable=False)
    summary_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "SKU"
        constraints = [
            models.UniqueConstraint(fields=["account", "seller_sku"], name="inventory_sku_seller_sku_unique"),
            models.UniqueConstraint(
                fields=["account", "tiktok_sku_id"],
                condition=~Q(tiktok_sku_id=""),
                name="inventory_sku_tiktok_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "name"], name="inventory_sku_acct_name_idx"),
            models.Index(
                fields=["account", "summary_status", "summary_days_of_cover"],
                name="inventory_sku_status_cover_idx",
            ),
            models.Index(fields=["account", "summary_days_of_cover"], name="inventory_sku_cover_idx"),
            models.Index(fields=["account", "summary_status", "name"], name="inventory_sku_status_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.seller_sku} · {self.name}"

    @property
    def effective_lead_time_days(self) -> int:
        if self.lead_time_days is not None:
            return self.lead_time_days
        return self.supplier.lead_time_days if self.supplier_id else 7


class StockLevel(models.Model):
    """Stock of one SKU in one warehouse. `available = on_hand - reserved`."""

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    version = models.PositiveBigIntegerField(default=0, help_text="Bumped by every change.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="inventory_stock_sku_wh_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inventory_stock_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inventory_stock_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__lte=models.F("on_hand")), name="inventory_stock_reserved_lte_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.warehouse_id}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class TransactionType(models.TextChoices):
    IN = "IN", "In"
    OUT = "OUT", "Out"
    ADJUSTMENT = "ADJUSTMENT", "Adjustment"


class InventoryTransaction(models.Model):
    """One movement of on-hand stock: the ledger. Append-only.

    `quantity` is the signed change of `on_hand` (IN > 0, OUT < 0, ADJUSTMENT either way), and
    `previous_level` / `new_level` are `on_hand` before and after, so the ledger replays exactly.
    `reference` names what caused it: "order:<id>", "po:<id>", "adjustment:<id>", "channel_sync", ...
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="transactions")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=10, choices=TransactionType.choices)
    quantity = models.IntegerField()
    previous_level = models.IntegerField()
    new_level = models.IntegerField()
    reason = models.CharField(max_length=500, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True, help_text='"system", "celery", "tiktok", ...')
    created_at = models.DateTimeField(default=timezone.now, db_index=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["sku", "-created_at"], name="inventory_txn_sku_time_idx"),
            models.Index(fields=["account", "-created_at"], name="inventory_txn_acct_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="inventory_txn_quantity_nonzero"),
            models.CheckConstraint(
                condition=Q(new_level=models.F("previous_level") + models.F("quantity")),
                name="inventory_txn_levels_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.quantity:+d} {self.sku_id} ({self.reason})"


class Reservation(models.Model):
    """Stock held for an order line until it ships (consumed), is cancelled (released) or expires.

    Unique on (order_ref, sku, warehouse) while active, so reserving the same order line twice is a
    no-op: intake is idempotent.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONSUMED = "consumed", "Consumed (shipped)"
        RELEASED = "released", "Released"

    # Reserving is the hottest write there is (one row per order line, inserted while the stock row
    # is locked), so this table carries only the indexes its queries use: the FK columns are not
    # indexed on their own (sku is the first column of the (sku, created_at) index).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="reservations", db_index=False)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+", db_index=False)
    order_ref = models.CharField(max_length=100, help_text='Who holds it, e.g. "order:<uuid>".')
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: held until shipped or cancelled."
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_ref", "sku", "warehouse"],
                condition=Q(status="active"),
                name="inventory_one_active_reservation_per_line",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inventory_reservation_quantity_gt_0"),
        ]
        indexes = [
            # Lookups by order_ref are for active rows: the partial unique constraint above serves them.
            models.Index(fields=["sku", "created_at"], name="inventory_resv_sku_time_idx"),
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active", expires_at__isnull=False),
                name="inventory_resv_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_id} for {self.order_ref} ({self.status})"


class Adjustment(models.Model):
    """A manual stock change. More than 100 units either way waits for staff approval."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed (stock changed meanwhile)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="adjustments")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    quantity = models.IntegerField()
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    transaction = models.OneToOneField(
        InventoryTransaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="adjustment"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="inventory_adj_status_idx")]

    def __str__(self) -> str:
        return f"{self.quantity:+d} {self.sku_id}: {self.reason} ({self.status})"


class StockAlert(models.Model):
    """An open problem with a SKU's stock; at most one open alert per (SKU, kind)."""

    class Kind(models.TextChoices):
        LOW_STOCK = "low_stock", "Low stock"
        OUT_OF_STOCK = "out_of_stock", "Out of stock"
        SYNC_FAILURE = "sync_failure", "Sync failure"
        VIRAL_CRITICAL = "viral_critical", "Viral: stock critical"
        LEDGER_DRIFT = "ledger_drift", "Ledger drift"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "kind"], condition=Q(status="open"), name="inventory_one_open_alert_per_kind"
            )
        ]
        indexes = [models.Index(fields=["account", "status", "-opened_at"], name="inventory_alert_acct_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="purchase_orders")
    number = models.CharField(max_length=20, help_text="PO-00001, per account.")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3, default="USD")
    notes = models.TextField(blank=True)
    expected_at = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="inventory_po_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.supplier})"


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+")
    quantity_ordered = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "sku"], name="inventory_po_line_sku_unique"),
            models.CheckConstraint(condition=Q(quantity_ordered__gt=0), name="inventory_po_line_qty_gt_0"),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=models.F("quantity_ordered")),
                name="inventory_po_line_received_lte_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} × {self.sku_id}"

    @property
    def quantity_open(self) -> int:
        return self.quantity_ordered - self.quantity_received
