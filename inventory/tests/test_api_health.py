"""GET /api/health/inventory (CONTRACT.md section 3) and the API's OpenAPI documentation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from inventory.models import SKU, SyncStatus
from inventory.tests.factories import stocked_sku

pytestmark = pytest.mark.django_db


def test_inventory_health_has_the_contract_shape_for_staff(staff_client):
    # given two synced SKUs (of different accounts), one push pending, one never synced
    last = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    for when in (last - timedelta(hours=1), last):
        sku = stocked_sku()
        SKU.objects.filter(pk=sku.pk).update(
            inventory_sync_status=SyncStatus.SYNCED, last_inventory_sync=when
        )
    pending = stocked_sku()
    SKU.objects.filter(pk=pending.pk).update(inventory_sync_status=SyncStatus.PENDING)
    stocked_sku()

    # when staff ask (what anonymous callers get: creatorflow/health/tests/test_privacy.py)
    response = staff_client.get("/api/health/inventory")

    # then
    assert response.status_code in (200, 503)
    body = response.json()
    assert set(body) == {"status", "timestamp", "checks", "metrics"}
    assert body["status"] in ("healthy", "degraded", "unhealthy")
    assert (response.status_code == 503) == (body["status"] == "unhealthy")
    assert set(body["checks"]) == {"database", "tiktokAPI", "redis", "messageQueue"}
    assert body["checks"]["database"]["status"] == "healthy"
    assert set(body["checks"]["messageQueue"]) == {"status", "depth"}
    assert body["metrics"] == {"syncedProducts": 2, "pendingJobs": 1, "lastSyncTime": "2025-05-01T12:00:00Z"}
    assert response["Cache-Control"] == "no-store"


def test_inventory_health_with_nothing_synced_has_no_last_sync_time(staff_client):
    body = staff_client.get("/api/health/inventory").json()
    assert body["metrics"] == {"syncedProducts": 0, "pendingJobs": 0, "lastSyncTime": None}


def test_schema_documents_the_inventory_endpoints(settings):
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, method in [
        ("/api/inventory/products", "get"),
        ("/api/inventory/products/{sku_id}", "get"),
        ("/api/inventory/products/{sku_id}/adjust", "post"),
        ("/api/inventory/products/{sku_id}/sync", "post"),
        ("/api/health/inventory", "get"),
    ]:
        assert method in paths[path], path
    adjust = paths["/api/inventory/products/{sku_id}/adjust"]["post"]["responses"]
    assert {"200", "202", "400", "403", "404", "409"} <= set(adjust)
