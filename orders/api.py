"""Orders REST API (CONTRACT.md section 3): list, detail, and the review-queue actions.

Views are thin: a serializer checks the request, the services in `orders.facade` / `orders.rules`
make every change (and refuse a move the lifecycle forbids with `invalid_transition`, a 409), and
`creatorflow.core.api.exception_handler` turns every refusal into the JSON error body. Every lookup
goes through the request's account, so a foreign id is the same 404 as an unknown or malformed one.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.facade import HasAccount
from creatorflow.core.errors import NotFound, PermissionDenied

from . import serializers as s
from .facade import order_approve, order_cancel, order_hold
from .models import Order, OrderItem
from .rules import rules_rerun
from .selectors import PRIORITY_ORDER, orders_matching

TAG = "orders"
CHANGE_ROLE = "member"  # viewers read; members and up act on orders

_ID = OpenApiParameter("order_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id.")
_ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid request fields."),
    401: OpenApiResponse(s.ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed (e.g. the viewer role)."),
    404: OpenApiResponse(s.ErrorSerializer, description="Unknown id, or another account's."),
}
_CONFLICT = {
    409: OpenApiResponse(
        s.ErrorSerializer, description="`invalid_transition`: the order's status does not allow this."
    )
}


def _orders(account) -> QuerySet[Order]:
    """The account's orders with what the body shows: shop joined, items (and their SKU) prefetched."""
    items = OrderItem.objects.select_related("sku").order_by("id")
    return (
        Order.objects.filter(account=account)
        .select_related("shop")
        .prefetch_related(Prefetch("items", queryset=items), "shipments")
    )


def _order_or_404(request, order_id) -> Order:
    try:
        return _orders(request.account).get(pk=order_id)
    except (Order.DoesNotExist, ValidationError, ValueError) as exc:  # ValidationError: not a UUID
        raise NotFound("No such order.") from exc


def _require_change_role(request) -> None:
    if not request.membership.has_role(CHANGE_ROLE):
        raise PermissionDenied("Your role may view orders but not act on them.")


def _respond(order: Order, request=None) -> Response:
    """The order as the contract shows it, read again after the change."""
    return Response(s.order_body(_orders(order.account_id).get(pk=order.pk), request))


@extend_schema(
    operation_id="orders_list",
    tags=[TAG],
    parameters=[s.OrderListQuerySerializer],
    responses={200: s.OrderListSerializer, **_ERRORS},
    description=(
        f"The account's orders, highest priority first (impact score descending, then earliest "
        f"ship-by), {s.PAGE_SIZE} a page. The envelope mirrors the inventory list: "
        '`{"orders": [...], "pagination": {"page", "limit", "total"}}`. `status` filters on our '
        "lifecycle status, `priority` on the level; `search` matches the TikTok order id, an "
        "item's SKU, or the customer's name. `shop` is `{id, name, shop_id}`; `shipment` is null "
        "until a label is bought."
    ),
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, HasAccount])
def order_list(request):
    """Three queries after authentication, whatever the page size: count, page, items."""
    query = s.OrderListQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    params = query.validated_data
    queryset = orders_matching(
        account=request.account,
        status=params.get("status"),
        priority=params.get("priority"),
        search=params.get("search"),
    )
    page = params["page"]
    offset = (page - 1) * s.PAGE_SIZE
    total = queryset.count()
    rows = []
    if offset < total:
        ordered = queryset.order_by(*PRIORITY_ORDER)
        ids = ordered.values_list("pk", flat=True)[offset : offset + s.PAGE_SIZE]
        rows = list(_orders(request.account).filter(pk__in=list(ids)).order_by(*PRIORITY_ORDER))
    body = {
        "orders": [s.order_body(order, request) for order in rows],
        "pagination": {"page": page, "limit": s.PAGE_SIZE, "total": total},
    }
    return Response(body)


@extend_schema(
    operation_id="orders_detail",
    tags=[TAG],
    parameters=[_ID],
    responses={200: s.OrderSerializer, **_ERRORS},
    description="One order, in the same shape as a list entry.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, HasAccount])
def order_detail(request, order_id):
    return Response(s.order_body(_order_or_404(request, order_id), request))


@extend_schema(
    operation_id="orders_approve",
    tags=[TAG],
    parameters=[_ID],
    request=None,
    responses={200: s.OrderSerializer, **_CONFLICT, **_ERRORS},
    description="Clear the order for shipping (e.g. out of the review queue). Answers the order.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, HasAccount])
def order_approve_view(request, order_id):

    order = _order_or_404(request, order_id)
    _require_change_role(request)
    order_approve(order=order, actor=request.user)
    return _respond(order, request)


@extend_schema(
    operation_id="orders_hold",
    tags=[TAG],
    parameters=[_ID],
    request=s.HoldRequestSerializer,
    responses={200: s.OrderSerializer, **_CONFLICT, **_ERRORS},
    description="Hold the order for review, with a reason (1-500 characters). Answers the order.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, HasAccount])
def order_hold_view(request, order_id):

    order = _order_or_404(request, order_id)
    _require_change_role(request)
    body = s.HoldRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    order_hold(order=order, actor=request.user, reason=body.validated_data["reason"])
    return _respond(order, request)


@extend_schema(
    operation_id="orders_cancel",
    tags=[TAG],
    parameters=[_ID],
    request=s.CancelRequestSerializer,
    responses={200: s.OrderSerializer, **_CONFLICT, **_ERRORS},
    description="Cancel the order (its stock is released), with an optional reason. Answers the order.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, HasAccount])
def order_cancel_view(request, order_id):

    order = _order_or_404(request, order_id)
    _require_change_role(request)
    body = s.CancelRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    order_cancel(order=order, actor=request.user, reason=body.validated_data.get("reason", ""))
    return _respond(order, request)


@extend_schema(
    operation_id="orders_rerun_rules",
    tags=[TAG],
    parameters=[_ID],
    request=None,
    responses={200: s.OrderSerializer, **_CONFLICT, **_ERRORS},
    description="Run the account's automation rules on this order again. Answers the order.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, HasAccount])
def order_rerun_rules_view(request, order_id):

    order = _order_or_404(request, order_id)
    _require_change_role(request)
    rules_rerun(orders=[order], actor=request.user)
    return _respond(order, request)
