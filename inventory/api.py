"""Inventory REST API (CONTRACT.md section 3): list, detail, adjust, sync, and the inventory health.

Views are thin: validate the request with a serializer, read through `selectors`, write through
`inventory.services`, and let `creatorflow.core.api.exception_handler` turn every refusal into the
JSON error body. Every lookup goes through the request's account, so a foreign id is the same 404 as
an unknown or malformed one. Paths have no trailing slash, exactly as the contract spells them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q, Window
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts.facade import HasAccount
from creatorflow.core.errors import DomainError, NotFound, PermissionDenied
from creatorflow.health.checks import (
    UNHEALTHY,
    check_celery,
    check_database,
    check_redis,
    check_tiktok,
    overall_status,
)
from creatorflow.health.facade import may_see_health_details

from . import serializers as s
from .channel import current_channel
from .csv_io import export_response
from .models import SKU, SyncStatus, Warehouse
from .selectors import sku_for_account, sku_history, sku_list, sku_stock_totals
from .services.alerts import sku_sync_failed, sku_sync_succeeded
from .services.stock import stock_adjust, stock_set_from_channel

logger = logging.getLogger(__name__)

TAG = "inventory"
CHANGE_ROLE = "member"  # viewers read; members and up change stock
# Only what the response shows: the other annotations (threshold, days of cover) stay out of the
# SELECT list, so the page runs three stock subqueries per row instead of six.
LIST_VALUES = (
    "id",
    "name",
    "seller_sku",
    "last_inventory_sync",
    "inventory_sync_status",
    "current_stock",
    "reserved_stock",
    "available_stock",
)

_ID = OpenApiParameter("sku_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The SKU's id.")
_ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid request fields."),
    401: OpenApiResponse(s.ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed (e.g. the viewer role)."),
    404: OpenApiResponse(s.ErrorSerializer, description="Unknown id, or another account's."),
}


class ChannelError(DomainError):
    """The channel was asked and failed (timeout, 5xx, bad answer): a bad gateway, not our fault."""

    code = "channel_error"
    http_status = 502


def _sku_or_404(request, sku_id) -> SKU:
    try:
        return sku_for_account(account=request.account, sku_id=sku_id)
    except (SKU.DoesNotExist, ValidationError, ValueError) as exc:  # ValidationError: not a UUID
        raise NotFound("No such product.") from exc


def _require_change_role(request) -> None:
    if not request.membership.has_role(CHANGE_ROLE):
        raise PermissionDenied("Your role may view stock but not change it.")


def _product(sku: SKU) -> dict:
    return s.ProductSerializer(sku).data


@extend_schema(
    operation_id="inventory_products_list",
    tags=[TAG],
    parameters=[s.ProductListQuerySerializer],
    responses={200: s.ProductListSerializer, **_ERRORS},
    description="The account's SKUs with stock over all warehouses. `search` matches name or SKU.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, HasAccount])
def product_list(request):
    """One query after authentication on a non-empty page: the page carries its own total.

    `COUNT(*) OVER ()` counts every row that passes the filters before LIMIT cuts the page, so
    the filter (one stock subquery per candidate SKU) runs once instead of twice (page + COUNT).
    Only a page past the end needs a separate COUNT.
    """
    query = s.ProductListQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    page, limit = query.validated_data["page"], query.validated_data["limit"]
    queryset = sku_list(
        account=request.account,
        status=query.validated_data.get("status"),
        search=query.validated_data.get("search") or None,
    )
    offset = (page - 1) * limit
    rows = list(
        queryset.select_related(None)
        .values(*LIST_VALUES)
        .annotate(matching=Window(Count("pk")))[offset : offset + limit]
    )
    if rows:
        total = rows[0]["matching"]
    else:
        total = queryset.count() if page > 1 else 0
    body = {
        "products": s.ProductSerializer(rows, many=True).data,
        "pagination": {"page": page, "limit": limit, "total": total},
    }
    return Response(body)


@extend_schema(
    operation_id="inventory_product_detail",
    tags=[TAG],
    parameters=[_ID],
    responses={200: s.ProductDetailSerializer, **_ERRORS},
    description=f"One SKU with its latest {s.HISTORY_LIMIT} ledger movements, newest first.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, HasAccount])
def product_detail(request, sku_id):
    sku = _sku_or_404(request, sku_id)
    body = _product(sku)
    body["history"] = s.HistoryEntrySerializer(sku_history(sku=sku, limit=s.HISTORY_LIMIT), many=True).data
    return Response(body)


@extend_schema(
    operation_id="inventory_product_adjust",
    tags=[TAG],
    parameters=[_ID],
    request=s.AdjustRequestSerializer,
    responses={
        200: s.AdjustAppliedSerializer,
        202: OpenApiResponse(s.AdjustPendingSerializer, description="More than 100 units: awaits approval."),
        409: OpenApiResponse(s.ErrorSerializer, description="`insufficient_stock`: below zero or reserved."),
        **_ERRORS,
    },
    description="Change on-hand stock in the default warehouse by a signed quantity, with a reason.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, HasAccount])
def product_adjust(request, sku_id):
    sku = _sku_or_404(request, sku_id)
    _require_change_role(request)
    body = s.AdjustRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    result = stock_adjust(
        sku=sku,
        quantity=body.validated_data["quantity"],
        reason=body.validated_data["reason"],
        actor=request.user,
    )
    if not result.applied:
        data = {"success": True, "pending_approval": True, "adjustment_id": str(result.adjustment.pk)}
        return Response(s.AdjustPendingSerializer(data).data, status=202)
    return Response({"success": True, "new_stock_level": result.new_stock_level})


def _warehouses_by_channel_id(account) -> dict[str, Warehouse]:
    """A channel names a warehouse by our id or by its TikTok warehouse id; accept either."""
    index: dict[str, Warehouse] = {}
    for warehouse in Warehouse.objects.filter(account=account):
        index[str(warehouse.pk)] = warehouse
        if warehouse.tiktok_warehouse_id:
            index[warehouse.tiktok_warehouse_id] = warehouse
    return index


@extend_schema(
    operation_id="inventory_product_sync",
    tags=[TAG],
    parameters=[_ID],
    request=None,
    responses={
        200: s.SyncResultSerializer,
        502: OpenApiResponse(s.ErrorSerializer, description="`channel_error`: the channel failed."),
        503: OpenApiResponse(s.ErrorSerializer, description="`channel_unavailable`: no shop connected."),
        **_ERRORS,
    },
    description="Fetch the SKU's counts from the sales channel now and record them as on-hand stock.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, HasAccount])
def product_sync(request, sku_id):
    """Ask the channel first (a network call, outside any transaction), then record per warehouse.

    Each warehouse is written by `stock_set_from_channel` in its own short transaction; a
    warehouse the channel names that we do not know is skipped and logged rather than invented.
    """
    sku = _sku_or_404(request, sku_id)
    _require_change_role(request)
    channel = current_channel()  # 503 channel_unavailable while no shop is connected
    try:
        count = channel.fetch_stock(sku=sku)
    except DomainError:
        raise
    except Exception as exc:  # whatever the adapter raises: the shop did not answer usefully
        logger.warning("channel stock fetch failed for sku %s: %r", sku.pk, exc)
        sku_sync_failed(sku=sku, error=type(exc).__name__)
        raise ChannelError("The sales channel did not answer; try again in a minute.") from exc
    warehouses = _warehouses_by_channel_id(request.account)
    for warehouse_id, quantity in count.quantities.items():
        warehouse = warehouses.get(str(warehouse_id))
        if warehouse is None:
            logger.warning("channel named unknown warehouse %r for sku %s", warehouse_id, sku.pk)
            continue
        stock_set_from_channel(sku=sku, warehouse=warehouse, quantity=int(quantity))
    sku_sync_succeeded(sku=sku)
    sku.refresh_from_db(fields=["last_inventory_sync"])
    totals = sku_stock_totals(sku=sku)
    data = {
        "success": True,
        "current_stock": totals.on_hand,
        "last_sync": sku.last_inventory_sync or count.fetched_at,
    }
    return Response(s.SyncResultSerializer(data).data)


@extend_schema(
    operation_id="inventory_products_export",
    tags=[TAG],
    responses={(200, "text/csv"): OpenApiTypes.STR, 401: _ERRORS[401], 403: _ERRORS[403]},
    description="The account's stock per warehouse as CSV: seller_sku, name, warehouse, on_hand, "
    "reserved, available.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, HasAccount])
def product_export(request):
    return export_response(account=request.account)


def inventory_metrics() -> dict:
    """Account-free aggregates in one pass over the SKU table.

    syncedProducts: active SKUs whose last push succeeded; pendingJobs: active SKUs with a stock
    push waiting; lastSyncTime: the latest successful sync of any SKU (null when none ever synced).
    """
    row = SKU.objects.filter(is_active=True).aggregate(
        synced=Count("pk", filter=Q(inventory_sync_status=SyncStatus.SYNCED)),
        pending=Count("pk", filter=Q(inventory_sync_status=SyncStatus.PENDING)),
        last=Max("last_inventory_sync"),
    )
    last = row["last"]
    return {
        "syncedProducts": row["synced"],
        "pendingJobs": row["pending"],
        "lastSyncTime": last.astimezone(UTC).isoformat().replace("+00:00", "Z") if last else None,
    }


@extend_schema(
    operation_id="inventory_health",
    tags=["health"],
    auth=[],
    responses={200: s.InventoryHealthSerializer, 503: OpenApiResponse(s.InventoryHealthSerializer)},
    description="Public. 200 when healthy or degraded, 503 when unhealthy, for every caller; the checks "
    "and metrics only for staff or `Authorization: Bearer <HEALTH_TOKEN>`, others get status and timestamp.",
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def inventory_health(request):
    """The shared checks from `creatorflow.health.checks`, named as the inventory contract names them."""
    celery = check_celery()
    checks = {
        "database": check_database(),
        "tiktokAPI": check_tiktok(),
        "redis": check_redis(),
        "messageQueue": {"status": celery["status"], "depth": celery.get("queue_depth")},
    }
    status = overall_status(checks)
    body = {"status": status, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    # Metrics count every account's SKUs: only staff or the health token see them (and the checks),
    # so an anonymous probe does not pay for the count.
    if may_see_health_details(request):
        try:
            metrics = inventory_metrics()
        except Exception as exc:  # the database check already reports why; never a 500 here
            logger.warning("inventory metrics failed: %r", exc)
            metrics = {"syncedProducts": None, "pendingJobs": None, "lastSyncTime": None}
        body.update(checks=checks, metrics=metrics)
    response = Response(body, status=503 if status == UNHEALTHY else 200)
    response["Cache-Control"] = "no-store"
    return response
