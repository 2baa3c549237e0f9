"""`GET /api/health/` (CONTRACT.md section 3): public, cheap, and never a 500.

Anyone may ask, but only staff (signed in) or a monitor holding `HEALTH_TOKEN` (sent as
`Authorization: Bearer <token>`) see the checks: they carry platform-wide figures (shops, calls,
queue depths, webhook counts, the broker type). Everyone else gets the status and timestamp, with
the same HTTP status code, so a load balancer needs no credential.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth import get_user
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .checks import UNHEALTHY, run_checks

_HEALTH_BODY = inline_serializer(
    name="Health",
    fields={
        "status": serializers.ChoiceField(choices=["healthy", "degraded", "unhealthy"]),
        "timestamp": serializers.DateTimeField(),
        "checks": serializers.DictField(
            child=serializers.DictField(), required=False, help_text="Staff or the health token only."
        ),
    },
)

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


class HealthView(APIView):
    """Runs the checks live. 200 when healthy or degraded, 503 when unhealthy, for every caller."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="health",
        responses={200: _HEALTH_BODY, 503: OpenApiResponse(_HEALTH_BODY, description="unhealthy")},
        tags=["health"],
    )
    def get(self, request):
        body = run_checks()
        # The code comes from the full body, so both audiences get the same one (503 when unhealthy).
        status = 503 if body["status"] == UNHEALTHY else 200
        response = Response(health_body_for(request, body), status=status)
        response["Cache-Control"] = "no-store"
        return response
