"""`GET /api/health/` (CONTRACT.md section 3): public, cheap, and never a 500.

Anyone may ask, but only staff (signed in) or a monitor holding `HEALTH_TOKEN` (sent as
`Authorization: Bearer <token>`) see the checks: they carry platform-wide figures (shops, calls,
queue depths, webhook counts, the broker type). Everyone else gets the status and timestamp, with
the same HTTP status code, so a load balancer needs no credential.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .access import health_body_for
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
