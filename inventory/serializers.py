"""Shapes of the inventory REST API (CONTRACT.md section 3), field for field.

Request serializers check types, ranges and lengths so a bad request is a 400 with field errors
before any service runs; the services check the same rules again (defence in depth). Response
serializers only shape what selectors and services return: no business rules here.
"""

from __future__ import annotations

from rest_framework import serializers

from creatorflow.core.api import MAX_PAGE

from .models import SyncStatus, TransactionType
from .selectors import STATUSES

LIST_DEFAULT_LIMIT = 50
LIST_MAX_LIMIT = 200
HISTORY_LIMIT = 100
ADJUST_MAX_UNITS = 10_000
REASON_MAX_LENGTH = 500
SEARCH_MAX_LENGTH = 100


class ProductListQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
    limit = serializers.IntegerField(min_value=1, max_value=LIST_MAX_LIMIT, default=LIST_DEFAULT_LIMIT)
    status = serializers.ChoiceField(choices=STATUSES, required=False)
    search = serializers.CharField(required=False, allow_blank=True, max_length=SEARCH_MAX_LENGTH)


class ProductSerializer(serializers.Serializer):
    """One "product" of the API is one SKU; `sku` is the seller's SKU code, `id` the SKU's UUID."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    sku = serializers.CharField(source="seller_sku")
    current_stock = serializers.IntegerField(help_text="Units on hand, over all warehouses.")
    reserved_stock = serializers.IntegerField(help_text="Units held for open orders.")
    available_stock = serializers.IntegerField(help_text="current_stock - reserved_stock.")
    last_inventory_sync = serializers.DateTimeField(allow_null=True)
    inventory_sync_status = serializers.ChoiceField(choices=SyncStatus.choices)


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Products matching the filters, over all pages.")


class ProductListSerializer(serializers.Serializer):
    products = ProductSerializer(many=True)
    pagination = PaginationSerializer()


class HistoryEntrySerializer(serializers.Serializer):
    date = serializers.DateTimeField(source="created_at")
    type = serializers.ChoiceField(choices=TransactionType.choices)
    quantity = serializers.IntegerField(help_text="Signed change of on-hand units.")
    reason = serializers.CharField()


class ProductDetailSerializer(ProductSerializer):
    history = HistoryEntrySerializer(
        many=True, help_text=f"Ledger movements, newest first; at most the latest {HISTORY_LIMIT}."
    )


class AdjustRequestSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=-ADJUST_MAX_UNITS,
        max_value=ADJUST_MAX_UNITS,
        help_text="Signed, non-zero. More than 100 units either way waits for approval (202).",
    )
    reason = serializers.CharField(min_length=1, max_length=REASON_MAX_LENGTH)

    def validate_quantity(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("Must not be zero.")
        return value


class AdjustAppliedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    new_stock_level = serializers.IntegerField()


class AdjustPendingSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    pending_approval = serializers.BooleanField()
    adjustment_id = serializers.UUIDField()


class SyncResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    current_stock = serializers.IntegerField()
    last_sync = serializers.DateTimeField()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class InventoryHealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["healthy", "degraded", "unhealthy"])
    timestamp = serializers.DateTimeField()
    # Present for staff and the health token only; anonymous callers get status and timestamp.
    checks = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        help_text="database, tiktokAPI, redis, messageQueue{status, depth} (staff or health token only)",
    )
    metrics = serializers.DictField(
        required=False, help_text="syncedProducts, pendingJobs, lastSyncTime (staff or health token only)"
    )
