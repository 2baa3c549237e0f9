"""`GET /api/health/` (CONTRACT.md section 3): public, cheap, and never a 500."""

from __future__ import annotations

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
        "checks": serializers.DictField(child=serializers.DictField()),
    },
)


class HealthView(APIView):
    """Runs the checks live. 200 when healthy or degraded, 503 when unhealthy."""

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
        response = Response(body, status=503 if body["status"] == UNHEALTHY else 200)
        response["Cache-Control"] = "no-store"
        return response
