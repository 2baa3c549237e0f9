"""Reads for the shipping pages. Every function takes the account: nothing here crosses tenants."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from inventory.models import Warehouse

from .models import LIVE_SHIPMENT, CarrierAccount, PackagePreset, Shipment

SEARCH_MAX = 100


def shipments_for_account(
    *, account, status: str | None = None, carrier: str | None = None, search: str | None = None
) -> QuerySet[Shipment]:
    """The account's shipments, newest first, with their order (one query for a page of rows).

    `carrier` matches the carrier name (USPS, UPS…) case-insensitively; `search` matches a tracking
    number or a TikTok order id, exactly or by prefix.
    """
    queryset = Shipment.objects.filter(account=account).select_related("order", "carrier_account")
    if status:
        queryset = queryset.filter(status=status)
    if carrier:
        queryset = queryset.filter(carrier__iexact=carrier)
    if search:
        term = search.strip()[:SEARCH_MAX]
        if term:
            queryset = queryset.filter(
                Q(tracking_number__istartswith=term) | Q(order__tiktok_order_id__startswith=term)
            )
    return queryset.order_by("-created_at", "-pk")


def shipment_carriers(*, account) -> list[str]:
    """The carrier names the account's shipments used, for the list's filter."""
    names = (
        Shipment.objects.filter(account=account)
        .exclude(carrier="")
        .order_by("carrier")
        .values_list("carrier", flat=True)
        .distinct()
    )
    return list(names)


def live_shipment_for_order(*, account, order_id) -> Shipment | None:
    """The order's shipment that is not voided or failed (at most one exists), or None."""
    return (
        Shipment.objects.filter(LIVE_SHIPMENT, account=account, order_id=order_id)
        .select_related("carrier_account")
        .order_by("-created_at")
        .first()
    )


def shipment_for_account(*, account, shipment_id) -> Shipment | None:
    return Shipment.objects.filter(account=account, pk=shipment_id).select_related("order").first()


def carrier_accounts_for_account(*, account) -> QuerySet[CarrierAccount]:
    return CarrierAccount.objects.filter(account=account).order_by("preference", "created_at", "pk")


def has_carrier_account(*, account) -> bool:
    return CarrierAccount.objects.filter(account=account).exists()


def package_presets_for_account(*, account) -> QuerySet[PackagePreset]:
    return PackagePreset.objects.filter(account=account).order_by(
        "length_mm", "width_mm", "height_mm", "name"
    )


def warehouses_for_account(*, account) -> QuerySet[Warehouse]:
    return Warehouse.objects.filter(account=account).order_by("-is_default", "name")
