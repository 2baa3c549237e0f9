from django.urls import path

from creatorflow.core.views import section

app_name = "shipping"

urlpatterns = [
    path("", section, {"section": "shipping"}, name="index"),
]
