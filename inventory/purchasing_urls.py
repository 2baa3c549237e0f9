"""Suppliers and purchase orders, under /inventory/ (included before the inventory pages)."""

from django.urls import path

from . import purchasing_views as views

app_name = "purchasing"

urlpatterns = [
    path("suppliers/", views.supplier_list, name="suppliers"),
    path("suppliers/new/", views.supplier_new, name="supplier_new"),
    path("suppliers/<uuid:supplier_id>/edit/", views.supplier_edit, name="supplier_edit"),
    path("purchase-orders/", views.order_list, name="list"),
    path("purchase-orders/new/", views.order_new, name="new"),
    path("purchase-orders/suggest/", views.order_suggest, name="suggest"),
    path("purchase-orders/<uuid:po_id>/", views.order_detail, name="detail"),
    path("purchase-orders/<uuid:po_id>/send/", views.order_send, name="send"),
    path("purchase-orders/<uuid:po_id>/receive/", views.order_receive, name="receive"),
    path("purchase-orders/<uuid:po_id>/cancel/", views.order_cancel, name="cancel"),
    path("purchase-orders/<uuid:po_id>/pdf/", views.order_pdf, name="pdf"),
    path("purchase-orders/<uuid:po_id>/csv/", views.order_csv, name="csv"),
]
