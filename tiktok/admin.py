from django.contrib import admin

from .models import Shop


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("name", "shop_id", "account", "region", "status", "created_at")
    list_filter = ("status", "region", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "shop_id", "account__name")
