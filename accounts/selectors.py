"""Reads for accounts. Every read of tenant data takes the account (or the user) explicitly."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from .models import Account, ApiToken, Invitation, Membership, User


def memberships_for_user(user: User) -> QuerySet[Membership]:
    """The user's memberships in active accounts, ordered by account name."""
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return Membership.objects.filter(user=user, account__is_active=True).select_related("account")


def membership_for(user: User, account: Account | None) -> Membership | None:
    if account is None or not getattr(user, "is_authenticated", False):
        return None
    return memberships_for_user(user).filter(account=account).first()


def current_membership(user: User, preferred_account_id: str | None) -> Membership | None:
    """The membership to act in: the preferred account if the user belongs to it, else the first."""
    memberships = list(memberships_for_user(user))
    if preferred_account_id:
        for membership in memberships:
            if str(membership.account_id) == str(preferred_account_id):
                return membership
    return memberships[0] if memberships else None


def account_for_user(user: User, account_id) -> Account:
    """The account with `account_id` if `user` is a member of it; `Http404` otherwise.

    A foreign, unknown or malformed id all look the same to the caller.
    """
    try:
        membership = memberships_for_user(user).filter(account_id=account_id).first()
    except (ValidationError, ValueError):
        membership = None
    if membership is None:
        raise Http404("No such account.")
    return membership.account


def members_of_account(account: Account) -> QuerySet[Membership]:
    return Membership.objects.filter(account=account).select_related("user").order_by("created_at", "pk")


def member_of_account_or_404(account: Account, user_id) -> Membership:
    try:
        membership = members_of_account(account).filter(user_id=user_id).first()
    except (ValidationError, ValueError):
        membership = None
    if membership is None:
        raise Http404("No such member.")
    return membership


def invitations_pending(account: Account) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        account=account, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def api_tokens_for(user: User, account: Account) -> QuerySet[ApiToken]:
    """The user's own tokens in this account, newest first (revoked ones included)."""
    return ApiToken.objects.filter(user=user, account=account).order_by("-created_at")
