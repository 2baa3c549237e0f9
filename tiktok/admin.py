"""Staff views of TikTok connections. Tokens are never shown: only their expiry."""

from django.contrib import admin

from .models import (
    ApiCall,
    CatalogLink,
    PendingOrderFetch,
    PendingStockPush,
    Shop,
    ShopAuthorization,
    SyncRun,
    Video,
    VideoProduct,
    VideoSnapshot,
)

ACCOUNT_FILTER = ("account", admin.RelatedOnlyFieldListFilter)
SHOP_FILTER = ("shop", admin.RelatedOnlyFieldListFilter)


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("name", "shop_id", "account", "region", "status", "last_order_sync_at", "created_at")
    list_filter = ("status", "region", ACCOUNT_FILTER)
    search_fields = ("name", "shop_id", "account__name")
    readonly_fields = ("order_cursor", "catalog_cursor", "connected_at", "disconnected_at")


@admin.register(ShopAuthorization)
class ShopAuthorizationAdmin(admin.ModelAdmin):
    list_display = (
        "seller_name",
        "open_id",
        "account",
        "access_token_expires_at",
        "refresh_token_expires_at",
    )
    list_filter = (ACCOUNT_FILTER,)
    search_fields = ("seller_name", "open_id", "account__name")
    exclude = ("access_token", "refresh_token")
    readonly_fields = ("access_token_expires_at", "refresh_token_expires_at", "refreshed_at")


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "shop",
        "kind",
        "status",
        "done",
        "total",
        "mismatched",
        "fixed",
        "started_at",
        "finished_at",
    )
    list_filter = ("kind", "status", SHOP_FILTER)
    date_hierarchy = "started_at"


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
    list_display = ("created_at", "method", "path", "code", "http_status", "latency_ms", "request_id", "shop")
    list_filter = ("code", "path", SHOP_FILTER)
    search_fields = ("request_id", "path")
    date_hierarchy = "created_at"


@admin.register(CatalogLink)
class CatalogLinkAdmin(admin.ModelAdmin):
    list_display = ("tiktok_product_id", "product", "shop", "tiktok_status", "synced_at")
    list_filter = (SHOP_FILTER,)
    search_fields = ("tiktok_product_id", "product__name")
    raw_id_fields = ("product",)


@admin.register(PendingStockPush)
class PendingStockPushAdmin(admin.ModelAdmin):
    list_display = ("sku", "requested_at", "due_at")
    raw_id_fields = ("sku",)


@admin.register(PendingOrderFetch)
class PendingOrderFetchAdmin(admin.ModelAdmin):
    list_display = ("order_id", "shop", "requested_at", "attempts", "last_error")
    list_filter = (SHOP_FILTER,)


class VideoProductInline(admin.TabularInline):
    model = VideoProduct
    extra = 0
    raw_id_fields = ("product",)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("title", "video_id", "shop", "views", "likes", "units_sold", "updated_at")
    list_filter = (SHOP_FILTER, ACCOUNT_FILTER)
    search_fields = ("title", "video_id", "username")
    inlines = [VideoProductInline]


@admin.register(VideoProduct)
class VideoProductAdmin(admin.ModelAdmin):
    list_display = ("video", "tiktok_product_id", "product", "name")
    raw_id_fields = ("video", "product")


@admin.register(VideoSnapshot)
class VideoSnapshotAdmin(admin.ModelAdmin):
    list_display = ("video", "captured_at", "views", "likes", "shares", "comments", "units_sold")
    raw_id_fields = ("video",)
    date_hierarchy = "captured_at"
