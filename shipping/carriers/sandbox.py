"""The built-in sandbox carrier: the embedded default, so `make run` and the tests ship for real.

- Rates are deterministic from the parcel's weight and the zone (the distance between the first
  digits of the two ZIP codes) for a few USPS / UPS / FedEx-like services.
- A label is a real 4×6 PDF (or ZPL) with the tracking number as a Code128 barcode. Buying is
  idempotent on the request's key, like a real API's idempotency key: the same key returns the same
  label. The sold labels are the sandbox's own state (`SandboxParcel`).
- Tracking moves on with time (pre_transit → in_transit → out_for_delivery → delivered, one step
  every SHIPPING_SANDBOX_STEP_SECONDS); `sandbox_progress` (beat) sends each new status as a signed
  webhook to `/webhooks/carriers/sandbox/`, which the shipping inbox handler applies.
- Faults for tests and demos, from the carrier account's `options`: `{"fault": "5xx" | "429" |
  "timeout" | "timeout_after_buy" | "auth", "fault_on": ["buy", "rates", ...]}` (default: buy only;
  "auth" refuses every call, as bad credentials would).
  "timeout_after_buy" records the label and then reports a timeout, as a real API can.
  `{"latency_after_buy_s": N}` records the label, then takes N seconds to answer (a worker killed
  meanwhile leaves a bought label its attempt does not know about yet).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from ..documents.label import LabelData, label_pdf
from .base import (
    Address,
    AddressCheck,
    BuyRequest,
    CarrierError,
    CarrierTimeout,
    Label,
    Parcel,
    Rate,
    TrackingUpdate,
    utc_time,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Service:
    carrier: str
    name: str
    base: Decimal
    per_lb: Decimal
    days_base: int
    days_per_zone: float


SERVICES = (
    Service("USPS", "Ground Advantage", Decimal("4.35"), Decimal("0.62"), 2, 0.45),
    Service("USPS", "Priority Mail", Decimal("8.10"), Decimal("0.95"), 1, 0.30),
    Service("UPS", "Ground", Decimal("8.95"), Decimal("0.70"), 1, 0.55),
    Service("UPS", "2nd Day Air", Decimal("17.80"), Decimal("1.60"), 2, 0.0),
    Service("FedEx", "Ground", Decimal("8.70"), Decimal("0.72"), 1, 0.55),
    Service("FedEx", "2Day", Decimal("18.90"), Decimal("1.55"), 2, 0.0),
)
STEPS = ("pre_transit", "in_transit", "out_for_delivery", "delivered")
STEP_MESSAGES = {
    "pre_transit": "Shipping label created",
    "in_transit": "Arrived at carrier facility",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered, front door",
}
CENT = Decimal("0.01")


def zone(from_postal: str, to_postal: str) -> int:
    """1..8 from the first digits of the two ZIP codes (a stand-in for real zone charts)."""
    a, b = (from_postal or "0")[:1], (to_postal or "0")[:1]
    if not (a.isdigit() and b.isdigit()):
        return 8
    return min(8, 1 + abs(int(a) - int(b)))


def quote(service: Service, *, parcel: Parcel, zone_number: int) -> tuple[Decimal, int]:
    pounds = max(1, math.ceil(parcel.weight_grams / 453.59237))
    amount = service.base + service.per_lb * pounds * (Decimal(1) + Decimal(zone_number) / 8)
    days = service.days_base + int(service.days_per_zone * zone_number)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP), days


def tracking_number_for(carrier: str, key: str) -> str:
    digest = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    if carrier == "UPS":
        return "1ZSBX" + f"{digest % 10**13:013d}"
    if carrier == "FedEx":
        return "7" + f"{digest % 10**11:011d}"
    return "9400" + f"{digest % 10**18:018d}"


def tracking_url_for(tracking_number: str) -> str:
    return f"https://sandbox-carrier.invalid/track/{tracking_number}"


def status_at(created_at: datetime, now: datetime) -> str:
    step_seconds = max(1, int(settings.SHIPPING_SANDBOX_STEP_SECONDS))
    index = int((now - created_at).total_seconds() // step_seconds)
    return STEPS[min(max(index, 0), len(STEPS) - 1)]


def _lines(address: Address) -> tuple[str, ...]:
    city = f"{address.city}, {address.state} {address.postal_code}".strip(", ")
    return tuple(
        x
        for x in (address.name, address.company, address.street1, address.street2, city, address.country)
        if x
    )


class SandboxCarrier:
    provider = "sandbox"

    def __init__(self, *, options: dict | None = None, timeout: float = 10.0, customer: str = ""):
        self.options = options or {}
        self.timeout = timeout
        self.customer = customer  # the carrier account this carrier is serving

    def _fault(self, operation: str) -> None:
        fault = self.options.get("fault") or ""
        # Refused credentials refuse every call; the other faults hit the operations in `fault_on`.
        if not fault or (fault != "auth" and operation not in self.options.get("fault_on", ["buy"])):
            return
        if fault == "5xx":
            raise CarrierError(
                "The sandbox carrier answered 500 Internal Server Error.", retryable=True, status=500
            )
        if fault == "429":
            raise CarrierError(
                "The sandbox carrier answered 429 Too Many Requests.", retryable=True, status=429
            )
        if fault == "timeout":
            raise CarrierTimeout("The sandbox carrier did not answer in time.")
        if fault == "auth":
            raise CarrierError("The sandbox carrier refused the credentials (401).", status=401, code="auth")

    def rates(
        self, *, from_address: Address, to_address: Address, parcel: Parcel, reference: str
    ) -> list[Rate]:
        self._fault("rates")
        zone_number = zone(from_address.postal_code, to_address.postal_code)
        rates = []
        for service in SERVICES:
            amount, days = quote(service, parcel=parcel, zone_number=zone_number)
            rates.append(
                Rate(
                    carrier=service.carrier,
                    service=service.name,
                    amount=amount,
                    currency="USD",
                    est_days=days,
                    rate_id=f"{service.carrier}:{service.name}",
                )
            )
        return rates

    def _label(self, parcel_row, request: BuyRequest) -> Label:
        data = LabelData(
            tracking_number=parcel_row.tracking_number,
            carrier=parcel_row.carrier,
            service=parcel_row.service,
            from_lines=_lines(request.from_address),
            to_lines=_lines(request.to_address),
            reference=request.reference,
            weight_text=f"{request.parcel.weight_oz} oz",
        )
        if request.label_format == "zpl":
            from ..documents.zpl import label_zpl

            content = label_zpl(data)
            content = content.encode() if isinstance(content, str) else content
        else:
            content = label_pdf(data)
        return Label(
            tracking_number=parcel_row.tracking_number,
            carrier=parcel_row.carrier,
            service=parcel_row.service,
            amount=parcel_row.amount,
            currency="USD",
            label_format=request.label_format,
            label_bytes=content,
            tracking_url=tracking_url_for(parcel_row.tracking_number),
            provider_label_id=parcel_row.tracking_number,
            provider_shipment_id=request.idempotency_key,
        )

    def buy(self, request: BuyRequest) -> Label:
        from ..models import SandboxParcel

        self._fault("buy")
        rate = request.rate
        if not any(s.carrier == rate.carrier and s.name == rate.service for s in SERVICES):
            raise CarrierError(
                f"The sandbox carrier has no service {rate.carrier} {rate.service}.", code="rate"
            )
        try:
            row, _ = SandboxParcel.objects.get_or_create(
                idempotency_key=request.idempotency_key,
                defaults={
                    "customer": self.customer,
                    "tracking_number": tracking_number_for(rate.carrier, request.idempotency_key),
                    "carrier": rate.carrier,
                    "service": rate.service,
                    "amount": rate.amount,
                },
            )
        except IntegrityError:  # a concurrent buy with the same key won
            row = SandboxParcel.objects.get(idempotency_key=request.idempotency_key)
        if (self.options.get("fault") == "timeout_after_buy") and "buy" in self.options.get(
            "fault_on", ["buy"]
        ):
            raise CarrierTimeout("The sandbox carrier did not answer in time (the label was bought).")
        latency = float(self.options.get("latency_after_buy_s") or 0)
        if latency > 0:
            time.sleep(min(latency, 120.0))
        return self._label(row, request)

    def find_label(self, request: BuyRequest) -> Label | None:
        from ..models import SandboxParcel

        row = SandboxParcel.objects.filter(idempotency_key=request.idempotency_key, voided=False).first()
        return None if row is None else self._label(row, request)

    def void(self, *, label_id: str, shipment_id: str, tracking_number: str) -> bool:
        from ..models import SandboxParcel

        self._fault("void")
        row = SandboxParcel.objects.filter(tracking_number=tracking_number).first()
        if row is None:
            raise CarrierError(f"The sandbox carrier has no label {tracking_number}.", code="not_found")
        if status_at(row.created_at, timezone.now()) != "pre_transit":
            raise CarrierError("The parcel is already in the carrier's network; it cannot be voided.")
        SandboxParcel.objects.filter(pk=row.pk).update(voided=True)
        return True

    def track(self, *, tracking_number: str, carrier: str) -> list[TrackingUpdate]:
        from ..models import SandboxParcel

        self._fault("track")
        row = SandboxParcel.objects.filter(tracking_number=tracking_number).first()
        if row is None:
            raise CarrierError(f"The sandbox carrier has no label {tracking_number}.", code="not_found")
        return history(row, now=timezone.now())

    def verify_address(self, address: Address) -> AddressCheck:
        self._fault("verify")
        return AddressCheck(ok=True)

    def test_connection(self) -> str:
        self._fault("test")
        return "Sandbox carrier ready: " + ", ".join(f"{s.carrier} {s.name}" for s in SERVICES)


def history(row, *, now: datetime) -> list[TrackingUpdate]:
    reached = STEPS.index(status_at(row.created_at, now))
    step = timedelta(seconds=max(1, int(settings.SHIPPING_SANDBOX_STEP_SECONDS)))
    return [
        TrackingUpdate(
            tracking_number=row.tracking_number,
            status=STEPS[i],
            occurred_at=row.created_at + step * i,
            message=STEP_MESSAGES[STEPS[i]],
            carrier=row.carrier,
            event_id=f"sbx_{row.tracking_number}_{STEPS[i]}",
        )
        for i in range(reached + 1)
    ]


# --- webhooks the sandbox sends -------------------------------------------------------------------


def webhook_body(update: TrackingUpdate) -> bytes:
    return json.dumps(
        {
            "object": "Event",
            "id": update.event_id,
            "description": "tracker.updated",
            "result": {
                "tracking_code": update.tracking_number,
                "carrier": update.carrier,
                "status": update.status,
                "message": update.message,
                "datetime": update.occurred_at.astimezone(UTC).isoformat(),
            },
        },
        separators=(",", ":"),
    ).encode()


def parse_webhook(body: bytes) -> list[TrackingUpdate]:
    """The update a sandbox webhook carries, or [] when it carries none we know. Never raises on a
    body the endpoint accepted: a time that cannot be read becomes now."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    result = payload.get("result") if isinstance(payload, dict) else None
    if (
        not isinstance(result, dict)
        or not isinstance(result.get("status"), str)
        or result["status"] not in STEPS
    ):
        return []
    return [
        TrackingUpdate(
            tracking_number=str(result.get("tracking_code") or ""),
            status=result["status"],
            occurred_at=utc_time(result.get("datetime")) or datetime.now(UTC),
            message=str(result.get("message") or ""),
            carrier=str(result.get("carrier") or ""),
            event_id=str(payload.get("id") or ""),
        )
    ]


def send_webhook(update: TrackingUpdate, *, customer: str) -> bool | None:
    """POST one tracking event to the endpoint `customer` (a carrier account) registered with us,
    signed with its secret: SHIPPING_SANDBOX_WEBHOOK_URL with its token, or straight into the inbox
    when no URL is set (the embedded default has no server to call). True when delivered, False when
    the endpoint did not take it (try again later), None when the customer has no endpoint (its
    carrier account was deleted: nobody to tell)."""
    from creatorflow.inbox.facade import inbox_store

    from ..services.webhook_credentials import sandbox_endpoint_for
    from ..webhooks import easypost_signature

    endpoint = sandbox_endpoint_for(customer) if customer else None
    if endpoint is None:
        logger.info(
            "sandbox carrier: no webhook endpoint for customer %r; %s not sent", customer, update.event_id
        )
        return None
    body = webhook_body(update)
    url = settings.SHIPPING_SANDBOX_WEBHOOK_URL
    if not url:
        inbox_store(
            provider="sandbox_carrier",
            external_id=f"{customer}:{update.event_id}",
            event_type="tracker.updated",
            body=body,
            headers={},
            source=customer,
        )
        return True
    separator = "&" if "?" in url else "?"
    try:
        response = requests.post(
            f"{url}{separator}{urlencode({'token': endpoint.token})}",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Hmac-Signature": easypost_signature(endpoint.secret, body),
            },
            timeout=5,
        )
    except requests.RequestException as exc:
        logger.warning("sandbox carrier: webhook to %s failed: %s", url, exc)
        return False
    return response.status_code == 200


def sandbox_progress(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send a webhook for every sandbox parcel whose tracking status moved on; returns how many."""
    from ..models import SandboxParcel

    now = now or timezone.now()
    sent = 0
    rows = (
        SandboxParcel.objects.filter(voided=False).exclude(notified_status="delivered").order_by("created_at")
    )
    for row in rows[:limit]:
        current = status_at(row.created_at, now)
        if current == row.notified_status:
            continue
        updates = history(row, now=now)
        known = STEPS.index(row.notified_status) if row.notified_status in STEPS else -1
        for update in updates[known + 1 :]:
            delivered = send_webhook(update, customer=row.customer)
            if delivered is None:
                break  # nobody to tell about this parcel; the others still go out
            if not delivered:
                return sent  # the endpoint is down: the next run tries again
            SandboxParcel.objects.filter(pk=row.pk).update(notified_status=update.status)
            sent += 1
    return sent
