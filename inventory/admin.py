"""Staff views of inventory. Stock counters are read-only here: they change only through services."""

from django.contrib import admin, messages

from creatorflow.core.errors import DomainError

from .models import (
    SKU,
    Adjustment,
    InventoryTransaction,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    StockAlert,
    StockLevel,
    Supplier,
    Warehouse,
)
from .services.stock import adjustment_approve, adjustment_reject


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "account", "is_default", "country", "tiktok_warehouse_id")
    list_filter = ("is_default", "country", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "code", "account__name")


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "lead_time_days", "account")
    list_filter = (("account", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name", "email")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "status", "tiktok_product_id", "updated_at")
    list_filter = ("status", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "tiktok_product_id")


class StockLevelInline(admin.TabularInline):
    model = StockLevel
    extra = 0
    fields = ("warehouse", "on_hand", "reserved", "updated_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SKU)
class SKUAdmin(admin.ModelAdmin):
    list_display = ("seller_sku", "name", "account", "price", "inventory_sync_status", "auto_reorder")
    list_filter = (
        "inventory_sync_status",
        "auto_reorder",
        "is_active",
        ("account", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("seller_sku", "name", "tiktok_sku_id")
    list_select_related = ("account",)
    readonly_fields = ("last_inventory_sync", "inventory_sync_status", "sync_failures", "avg_monthly_sales")
    inlines = [StockLevelInline]


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ("sku", "warehouse", "on_hand", "reserved", "updated_at")
    search_fields = ("sku__seller_sku", "sku__name")
    list_select_related = ("sku", "warehouse")


@admin.register(InventoryTransaction)
class InventoryTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "sku",
        "type",
        "quantity",
        "previous_level",
        "new_level",
        "reason",
        "actor_label",
    )
    list_filter = ("type", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("sku__seller_sku", "reason", "reference")
    list_select_related = ("sku",)
    date_hierarchy = "created_at"


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "sku", "order_ref", "quantity", "status", "expires_at")
    list_filter = ("status",)
    search_fields = ("order_ref", "sku__seller_sku")
    list_select_related = ("sku",)


@admin.register(Adjustment)
class AdjustmentAdmin(admin.ModelAdmin):
    list_display = ("created_at", "sku", "quantity", "reason", "status", "requested_by", "decided_by")
    list_filter = ("status", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("sku__seller_sku", "reason")
    list_select_related = ("sku", "requested_by", "decided_by")
    readonly_fields = (
        "account",
        "sku",
        "warehouse",
        "quantity",
        "reason",
        "requested_by",
        "decided_by",
        "decided_at",
        "transaction",
        "status",
    )
    actions = ["approve_selected", "reject_selected"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Approve and apply the selected pending adjustments")
    def approve_selected(self, request, queryset):
        outcomes = {"applied": 0, "failed": 0, "skipped": 0}
        for adjustment in queryset.order_by("created_at"):
            try:
                done = adjustment_approve(adjustment=adjustment, actor=request.user)
            except DomainError:
                outcomes["skipped"] += 1  # no longer pending
                continue
            outcomes["applied" if done.status == Adjustment.Status.APPLIED else "failed"] += 1
        level = messages.WARNING if outcomes["failed"] or outcomes["skipped"] else messages.SUCCESS
        self.message_user(
            request,
            f"{outcomes['applied']} applied, {outcomes['failed']} failed (stock no longer allows it), "
            f"{outcomes['skipped']} skipped (not pending).",
            level,
        )

    @admin.action(description="Reject the selected pending adjustments")
    def reject_selected(self, request, queryset):
        rejected = skipped = 0
        for adjustment in queryset.order_by("created_at"):
            try:
                adjustment_reject(adjustment=adjustment, actor=request.user, note="Rejected in the admin.")
                rejected += 1
            except DomainError:
                skipped += 1
        self.message_user(request, f"{rejected} rejected, {skipped} skipped (not pending).")


@admin.register(StockAlert)
class StockAlertAdmin(ReadOnlyAdmin):
    list_display = ("opened_at", "sku", "kind", "status", "message", "notified_at")
    list_filter = ("kind", "status", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("sku__seller_sku", "message")


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    readonly_fields = ("sku", "quantity_ordered", "quantity_received", "unit_cost")
    can_delete = False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = ("number", "supplier", "account", "status", "created_at", "sent_at")
    list_filter = ("status", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("number", "supplier__name")
    inlines = [PurchaseOrderLineInline]
    readonly_fields = ("status", "sent_at", "closed_at", "created_by")


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(ReadOnlyAdmin):
    list_display = ("purchase_order", "sku", "quantity_ordered", "quantity_received", "unit_cost")
