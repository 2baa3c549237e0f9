from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from shipping.webhooks import EasyPostWebhookView, SandboxCarrierWebhookView, ShippoWebhookView
from tiktok.webhooks import TikTokWebhookView

handler500 = "creatorflow.core.middleware.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/", include("accounts.api_urls")),
    path("api/", include("inventory.api_urls")),
    path("api/", include("orders.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("orders/", include("orders.urls")),
    path("inventory/csv/", include("inventory.csv_urls")),
    path("inventory/", include("inventory.purchasing_urls")),
    path("inventory/", include("inventory.urls")),
    path("webhooks/tiktok/", TikTokWebhookView.as_view(), name="tiktok-webhook"),
    path("webhooks/carriers/easypost/", EasyPostWebhookView.as_view(), name="easypost-webhook"),
    path("webhooks/carriers/shippo/", ShippoWebhookView.as_view(), name="shippo-webhook"),
    path("webhooks/carriers/sandbox/", SandboxCarrierWebhookView.as_view(), name="sandbox-carrier-webhook"),
    path("shipping/", include("shipping.urls")),
    path("tiktok/", include("tiktok.urls")),
    path("", include("creatorflow.health.urls")),
    path("", include("creatorflow.core.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
