from django.urls import path

from . import views
from .urls_batches import urlpatterns as batch_urlpatterns

app_name = "shipping"

urlpatterns = [
    path("", views.shipment_list, name="index"),
    path("shipments/<uuid:shipment_id>/label/", views.shipment_label, name="label"),
    path("orders/<uuid:order_id>/packing-slip.pdf", views.packing_slip, name="packing-slip"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/profile/", views.profile_update, name="profile"),
    path("settings/carriers/new/", views.carrier_new, name="carrier-new"),
    path("settings/carriers/<uuid:carrier_account_id>/edit/", views.carrier_edit, name="carrier-edit"),
    path("settings/carriers/<uuid:carrier_account_id>/toggle/", views.carrier_toggle, name="carrier-toggle"),
    path("settings/carriers/<uuid:carrier_account_id>/delete/", views.carrier_delete, name="carrier-delete"),
    path("settings/carriers/<uuid:carrier_account_id>/test/", views.carrier_test, name="carrier-test"),
    path(
        "settings/carriers/<uuid:carrier_account_id>/webhook/",
        views.carrier_webhook_regenerate,
        name="carrier-webhook",
    ),
    path("settings/presets/new/", views.preset_new, name="preset-new"),
    path("settings/presets/<uuid:preset_id>/edit/", views.preset_edit, name="preset-edit"),
    path("settings/presets/<uuid:preset_id>/delete/", views.preset_delete, name="preset-delete"),
    *batch_urlpatterns,
]
