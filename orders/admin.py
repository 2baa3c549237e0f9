from django.contrib import admin

from .models import AutomationRule, Order, OrderEvent, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    readonly_fields = (
        "sku",
        "seller_sku",
        "product_name",
        "sku_name",
        "quantity",
        "unit_price",
        "line_item_ids",
    )


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "type", "from_status", "to_status", "message", "actor", "actor_label")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "tiktok_order_id",
        "account",
        "status",
        "tiktok_status",
        "priority_level",
        "impact_score",
        "ship_by",
    )
    list_filter = ("status", "priority_level", "tiktok_status", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("tiktok_order_id", "recipient_name", "buyer_email")
    readonly_fields = ("status", "tiktok_status", "tiktok_update_time")
    inlines = [OrderItemInline, OrderEventInline]
    date_hierarchy = "created_at"


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    list_display = ("order", "seller_sku", "quantity", "unit_price")
    search_fields = ("seller_sku", "order__tiktok_order_id")


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "order", "type", "from_status", "to_status", "actor_label")
    list_filter = ("type",)
    search_fields = ("order__tiktok_order_id", "message")


@admin.register(AutomationRule)
class AutomationRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "position", "is_active", "match", "stop_processing")
    list_filter = ("is_active", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name",)
