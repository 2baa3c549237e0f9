"""Who may read the full health checks: staff signed in, or a monitor holding `HEALTH_TOKEN`.

The checks carry platform-wide figures (shops, calls, queue depths, webhook counts, the broker
type); everyone else gets the status and timestamp only. Used by every health endpoint (through
`creatorflow.health.facade` from the apps).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth import get_user

# What every caller may see: the top-level status and when it was taken.
PUBLIC_KEYS = ("status", "timestamp")


def _bearer_token(request) -> str:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def may_see_health_details(request) -> bool:
    """True for an active staff user signed in with a session, or for `Bearer <HEALTH_TOKEN>`.

    Works on a DRF request or a plain Django one. The health views authenticate nobody through
    DRF (no API-token lookup per probe), and DRF then sets `request.user` to the anonymous user, so
    the staff user is read from the session itself. An empty HEALTH_TOKEN (the default) never matches.
    """
    django_request = getattr(request, "_request", request)
    if hasattr(django_request, "session"):
        user = get_user(django_request)  # no query without a signed-in session
    else:
        user = getattr(django_request, "user", None)
    if user is not None and user.is_authenticated and user.is_active and user.is_staff:
        return True
    expected = str(getattr(settings, "HEALTH_TOKEN", "") or "")
    given = _bearer_token(django_request)
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def health_body_for(request, body: dict) -> dict:
    """The whole body for those who may see the details, else only its status and timestamp."""
    if may_see_health_details(request):
        return body
    return {key: body[key] for key in PUBLIC_KEYS if key in body}
