"""Placeholder: replaced by the accounts work (Authorization: Token <key>)."""

from rest_framework.authentication import BaseAuthentication


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        return None
