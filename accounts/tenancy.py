"""The current account of a request, and the view helpers that enforce it.

`request.account` / `request.membership` are set by `CurrentAccountMiddleware` for the session and
by `ApiTokenAuthentication` for API tokens. Views never take an account id from the client without
checking it against the user's memberships, and look objects up through `get_for_account_or_404`
so a foreign id is indistinguishable from an unknown one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import redirect

from .models import Role

SESSION_ACCOUNT_KEY = "current_account_id"


def remember_account(request, account) -> None:
    """Make `account` the session's current account (the caller has checked membership)."""
    request.session[SESSION_ACCOUNT_KEY] = str(account.pk)


def account_required(view: Callable) -> Callable:
    """Signed in and acting in an account. Signed out → the login page; no membership → 403.

    A signed-in user without any account (e.g. removed from their only team) sees a clear refusal
    rather than a crash deeper in the view.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "account", None) is None:
            raise PermissionDenied("You are not a member of any account.")
        return view(request, *args, **kwargs)

    return wrapper


def role_required(at_least: str) -> Callable[[Callable], Callable]:
    """`account_required` plus a minimum role in the current account (owner > admin > member > viewer)."""
    Role(at_least)  # fail at import time on a typo

    def decorator(view: Callable) -> Callable:
        @account_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.membership.has_role(at_least):
                raise PermissionDenied(f"This needs the {at_least} role.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def get_for_account_or_404(queryset_or_model, account, *, account_field: str = "account", **lookup) -> Model:
    """One row of `queryset_or_model` that belongs to `account`, else `Http404`.

    `account_field` is the path from the model to its account (e.g. "order__account" for order
    lines). A malformed id (not a UUID) is a 404 as well, never a 500.
    """
    if account is None:
        raise Http404("No account.")
    queryset = (
        queryset_or_model
        if isinstance(queryset_or_model, QuerySet)
        else queryset_or_model._default_manager.all()
    )
    try:
        obj = queryset.filter(**{account_field: account}, **lookup).first()
    except (ValidationError, ValueError) as exc:
        raise Http404("Not found.") from exc
    if obj is None:
        raise Http404("Not found.")
    return obj


def redirect_back(request, fallback: str):
    """Redirect to a same-site `next` (POST or GET) or to `fallback`."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)
