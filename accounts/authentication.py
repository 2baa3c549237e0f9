"""API authentication: `Authorization: Token <key>`, and the `HasAccount` permission."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from .models import ApiToken, Membership, hash_secret

KEYWORD = "Token"
# Writing last_used_at on every call would turn every API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticates `Authorization: Token <key>` by the key's SHA-256 and acts in the token's account.

    A revoked token, an inactive user, or a user no longer a member of the token's account is
    refused with 401. On success `request.account` / `request.membership` are set on both the DRF
    request and the underlying Django request (the middleware ran before DRF authenticated).
    """

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc

        token = ApiToken.objects.select_related("user", "account").filter(key_hash=hash_secret(key)).first()
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if not token.user.is_active or not token.account.is_active:
            raise exceptions.AuthenticationFailed("This token's user or account is inactive.")
        membership = Membership.objects.filter(user=token.user, account=token.account).first()
        if membership is None:
            raise exceptions.AuthenticationFailed("This token's user is no longer a member of its account.")
        membership.account = token.account

        now = timezone.now()
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)

        for target in (request, getattr(request, "_request", None)):
            if target is not None:
                target.account = token.account
                target.membership = membership
                target.api_token = token
        return token.user, token

    def authenticate_header(self, request):
        # Makes a missing or bad token a 401 (with WWW-Authenticate) rather than a 403.
        return KEYWORD


class HasAccount(BasePermission):
    """The request acts in an account (session user with a membership, or an API token)."""

    message = "You are not a member of any account."

    def has_permission(self, request, view):
        return getattr(request, "account", None) is not None
