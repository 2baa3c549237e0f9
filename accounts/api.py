"""REST API for the request's account: who am I, and the account itself."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .authentication import HasAccount
from .selectors import account_for_user


class UserOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class AccountRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class MeSerializer(serializers.Serializer):
    user = UserOutSerializer()
    account = AccountRefSerializer()
    role = serializers.CharField()


class AccountOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    role = serializers.CharField()
    created_at = serializers.DateTimeField()


@extend_schema(responses=MeSerializer, operation_id="me")
@api_view(["GET"])
@permission_classes([IsAuthenticated, HasAccount])
def me(request):
    user, account = request.user, request.account
    data = {
        "user": {"id": user.pk, "email": user.email, "full_name": user.full_name},
        "account": {"id": account.pk, "name": account.name},
        "role": request.membership.role,
    }
    return Response(MeSerializer(data).data)


@extend_schema(
    responses=AccountOutSerializer,
    operation_id="account_detail",
    parameters=[OpenApiParameter("account_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, HasAccount])
def account_detail(request, account_id):
    """The request's own account. Any other id, even of another account the user belongs to, is a
    404: an API call acts in exactly one account (the token's, or the session's current one)."""
    account = account_for_user(request.user, account_id)
    if account.pk != request.account.pk:
        raise Http404("No such account.")
    data = {
        "id": account.pk,
        "name": account.name,
        "role": request.membership.role,
        "created_at": account.created_at,
    }
    return Response(AccountOutSerializer(data).data)
