"""Every REST error leaves as {"error": {"code", "message", "fields"}} (CONTRACT.md section 3)."""

import pytest
from django.http import Http404
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory

from creatorflow.core.errors import Conflict


class QuantitySerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=-10000, max_value=10000)
    reason = serializers.CharField(max_length=500)


@api_view(["POST"])
@permission_classes([AllowAny])
def adjust(request):
    data = QuantitySerializer(data=request.data)
    data.is_valid(raise_exception=True)
    if data.validated_data["quantity"] < 0:
        raise Conflict("Not enough stock.", code="insufficient_stock")
    if data.validated_data["quantity"] == 42:
        raise Http404
    return None


@pytest.fixture
def post():
    factory = APIRequestFactory()
    return lambda body: adjust(factory.post("/x", body, format="json"))


def test_validation_errors_name_each_field(post):
    response = post({"quantity": "ten", "reason": ""})
    assert response.status_code == 400
    assert response.data["error"]["code"] == "invalid"
    assert set(response.data["error"]["fields"]) == {"quantity", "reason"}


def test_domain_error_keeps_its_code_and_status(post):
    response = post({"quantity": -5, "reason": "count"})
    assert response.status_code == 409
    assert response.data == {
        "error": {"code": "insufficient_stock", "message": "Not enough stock.", "fields": {}}
    }


def test_not_found_is_json(post):
    response = post({"quantity": 42, "reason": "count"})
    assert response.status_code == 404
    assert response.data["error"]["code"] == "not_found"
