"""API routes of the accounts app; included by the root URLconf at `api/`."""

from django.urls import path

from . import api

app_name = "accounts_api"

urlpatterns = [
    path("me", api.me, name="me"),
    path("accounts/<uuid:account_id>", api.account_detail, name="account_detail"),
]
