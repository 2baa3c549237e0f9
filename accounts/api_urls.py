"""API routes of the accounts app; included by the root URLconf at `api/`.

Ids are matched as strings so a malformed id is the same JSON 404 as a foreign one.
"""

from django.urls import path

from . import api

app_name = "accounts_api"

urlpatterns = [
    path("me", api.me, name="me"),
    path("accounts/<str:account_id>", api.account_detail, name="account_detail"),
]
