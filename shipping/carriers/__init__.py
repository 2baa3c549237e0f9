"""Carriers behind one interface (base.py). `carrier_for(carrier_account)` builds the right one.

The providers' base URLs come from settings (EASYPOST_API_BASE_URL, SHIPPO_API_BASE_URL): a test
stand-in differs from production only there. The sandbox is built in and needs no key.
"""

from __future__ import annotations

from django.conf import settings

from .base import (
    Address,
    AddressCheck,
    BuyRequest,
    Carrier,
    CarrierError,
    CarrierTimeout,
    Label,
    Parcel,
    Rate,
    TrackingUpdate,
)

__all__ = [
    "Address",
    "AddressCheck",
    "BuyRequest",
    "Carrier",
    "CarrierError",
    "CarrierTimeout",
    "Label",
    "Parcel",
    "Rate",
    "TrackingUpdate",
    "carrier_for",
]


def carrier_for(carrier_account) -> Carrier:
    timeout = float(settings.SHIPPING_CARRIER_TIMEOUT)
    provider = carrier_account.provider
    if provider == "sandbox":
        from .sandbox import SandboxCarrier

        return SandboxCarrier(
            options=carrier_account.options or {}, timeout=timeout, customer=str(carrier_account.pk or "")
        )
    if provider == "easypost":
        from .easypost import EasyPostCarrier

        return EasyPostCarrier(
            api_key=carrier_account.api_key, base_url=settings.EASYPOST_API_BASE_URL, timeout=timeout
        )
    if provider == "shippo":
        from .shippo import ShippoCarrier

        return ShippoCarrier(
            api_key=carrier_account.api_key, base_url=settings.SHIPPO_API_BASE_URL, timeout=timeout
        )
    raise CarrierError(f"unknown carrier provider {provider!r}")
