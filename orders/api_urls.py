"""Orders API routes, included by the root URLconf at `api/` (CONTRACT.md section 3).

The list is `orders/` (as the contract spells it), the rest have no trailing slash. Ids are
matched as strings so a malformed id is the same JSON 404 as a foreign one.
"""

from django.urls import path

from . import api

app_name = "orders_api"

urlpatterns = [
    path("orders/", api.order_list, name="order_list"),
    path("orders/<str:order_id>", api.order_detail, name="order_detail"),
    path("orders/<str:order_id>/approve", api.order_approve_view, name="order_approve"),
    path("orders/<str:order_id>/hold", api.order_hold_view, name="order_hold"),
    path("orders/<str:order_id>/cancel", api.order_cancel_view, name="order_cancel"),
    path("orders/<str:order_id>/rerun-rules", api.order_rerun_rules_view, name="order_rerun_rules"),
]
