"""Inventory API routes, included by the root URLconf at `api/` (CONTRACT.md section 3).

No trailing slashes, exactly as the contract spells the paths. Ids are matched as strings so a
malformed id is the same JSON 404 as a foreign one.
"""

from django.urls import path

from . import api

app_name = "inventory_api"

urlpatterns = [
    path("inventory/products", api.product_list, name="product_list"),
    path("inventory/products.csv", api.product_export, name="product_export"),
    path("inventory/products/<str:sku_id>", api.product_detail, name="product_detail"),
    path("inventory/products/<str:sku_id>/adjust", api.product_adjust, name="product_adjust"),
    path("inventory/products/<str:sku_id>/sync", api.product_sync, name="product_sync"),
    path("health/inventory", api.inventory_health, name="health"),
]
