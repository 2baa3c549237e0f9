from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/health/", views.health_panel, name="health-panel"),
    path("settings/", views.settings_page, name="settings"),
    # Placeholders until each section's app routes its own path (listed before this include).
    path("content/", views.section, {"section": "content"}, name="content"),
    path("analytics/", views.section, {"section": "analytics"}, name="analytics"),
]
