from django.urls import path

from creatorflow.core.views import section

from .urls_batches import urlpatterns as batch_urlpatterns

app_name = "shipping"

urlpatterns = [
    path("", section, {"section": "shipping"}, name="index"),
    *batch_urlpatterns,
]
