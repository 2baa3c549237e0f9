from django.urls import path

from . import views

app_name = "tiktok"
urlpatterns = [
    path("connect/", views.connect, name="connect"),
    path("oauth/callback/", views.oauth_callback, name="oauth-callback"),
    path("shops/", views.shops_page, name="shops"),
    path("shops/<uuid:shop_id>/progress/", views.shop_progress, name="shop-progress"),
    path("shops/<uuid:shop_id>/resync/", views.shop_resync_view, name="shop-resync"),
    path("shops/<uuid:shop_id>/disconnect/", views.shop_disconnect_view, name="shop-disconnect"),
    path("events/<int:event_id>/replay/", views.event_replay, name="event-replay"),
]
