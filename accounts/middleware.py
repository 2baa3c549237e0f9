"""Sets `request.account` and `request.membership` for every request."""

from __future__ import annotations

from .selectors import current_membership
from .tenancy import SESSION_ACCOUNT_KEY


class CurrentAccountMiddleware:
    """The current account is the session's chosen one when the user still belongs to it, else the
    user's first account; None for anonymous users and users without memberships.

    Checked against the memberships on every request, so removing a member takes effect at once.
    API token requests are authenticated later, inside DRF; `ApiTokenAuthentication` sets the
    account from the token there.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.account = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = current_membership(user, request.session.get(SESSION_ACCOUNT_KEY))
            if membership is not None:
                request.membership = membership
                request.account = membership.account
        return self.get_response(request)
