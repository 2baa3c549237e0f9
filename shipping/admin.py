from django.contrib import admin

from .models import (
    CarrierAccount,
    LabelAttempt,
    LabelBatch,
    LabelBatchItem,
    PackagePreset,
    SandboxParcel,
    SandboxWebhookEndpoint,
    Shipment,
    ShippingProfile,
    TrackingEvent,
)

ACCOUNT_FILTER = ("account", admin.RelatedOnlyFieldListFilter)


@admin.register(CarrierAccount)
class CarrierAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "provider", "enabled", "preference", "last_test_ok", "last_test_at")
    list_filter = ("provider", "enabled", ACCOUNT_FILTER)
    search_fields = ("name",)
    # The key is never shown; it is replaced from the dashboard's settings page.
    exclude = ("api_key", "webhook_secret")
    readonly_fields = (
        "webhook_token_hash",
        "webhook_issued_at",
        "last_test_at",
        "last_test_ok",
        "last_test_message",
    )


@admin.register(ShippingProfile)
class ShippingProfileAdmin(admin.ModelAdmin):
    list_display = ("account", "rate_policy", "label_format", "ship_from")
    list_filter = ("rate_policy",)


@admin.register(PackagePreset)
class PackagePresetAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "length_mm", "width_mm", "height_mm", "max_weight_grams")
    list_filter = (ACCOUNT_FILTER,)


class LabelAttemptInline(admin.TabularInline):
    model = LabelAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "idempotency_key", "carrier", "service", "amount", "state", "error")
    fields = readonly_fields


class TrackingEventInline(admin.TabularInline):
    model = TrackingEvent
    extra = 0
    can_delete = False
    readonly_fields = ("occurred_at", "status", "message", "location", "source")
    fields = readonly_fields


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ("order", "account", "status", "carrier", "service", "tracking_number", "rate_amount")
    list_filter = ("status", "provider", "carrier", ACCOUNT_FILTER)
    search_fields = ("tracking_number", "order__tiktok_order_id")
    raw_id_fields = ("order",)
    readonly_fields = ("claimed_until", "errors", "created_at", "purchased_at", "delivered_at", "voided_at")
    inlines = [LabelAttemptInline, TrackingEventInline]


@admin.register(LabelAttempt)
class LabelAttemptAdmin(admin.ModelAdmin):
    list_display = ("idempotency_key", "shipment", "carrier", "service", "state", "created_at")
    list_filter = ("state",)
    raw_id_fields = ("shipment",)


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    list_display = ("shipment", "status", "occurred_at", "source")
    list_filter = ("status", "source")
    raw_id_fields = ("shipment",)


class LabelBatchItemInline(admin.TabularInline):
    model = LabelBatchItem
    extra = 0
    can_delete = False
    raw_id_fields = ("order", "shipment")
    readonly_fields = ("status", "error")


@admin.register(LabelBatch)
class LabelBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "account", "status", "total", "created_at", "finished_at")
    list_filter = ("status", ACCOUNT_FILTER)
    inlines = [LabelBatchItemInline]


@admin.register(LabelBatchItem)
class LabelBatchItemAdmin(admin.ModelAdmin):
    list_display = ("batch", "order", "status", "error")
    list_filter = ("status",)
    raw_id_fields = ("batch", "order", "shipment")


@admin.register(SandboxParcel)
class SandboxParcelAdmin(admin.ModelAdmin):
    list_display = ("tracking_number", "carrier", "service", "created_at", "voided", "notified_status")
    search_fields = ("tracking_number",)


@admin.register(SandboxWebhookEndpoint)
class SandboxWebhookEndpointAdmin(admin.ModelAdmin):
    """The built-in carrier's side of a webhook set-up: which customer, when changed. The token and
    secret stay out of the admin (they are the customer's credentials)."""

    list_display = ("customer", "updated_at")
    search_fields = ("customer",)
    fields = ("customer", "updated_at")
    readonly_fields = ("customer", "updated_at")

    def has_add_permission(self, request):
        return False
