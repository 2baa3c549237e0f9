from django.urls import path

from . import views

app_name = "health"

urlpatterns = [
    path("api/health/", views.HealthView.as_view(), name="api"),
]
