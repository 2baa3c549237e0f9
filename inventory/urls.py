"""The inventory dashboard. Suppliers, purchase orders and CSV pages have their own url modules."""

from django.urls import path

from . import views

app_name = "inventory"

urlpatterns = [
    path("", views.sku_list, name="list"),
    path("skus/<uuid:sku_id>/", views.sku_detail, name="sku"),
    path("skus/<uuid:sku_id>/adjust/", views.sku_adjust, name="adjust"),
    path("alerts/", views.alert_list, name="alerts"),
]
