"""Shippo, through the official `shippo` SDK (a generated client on `requests`).

Units: our millimetres and grams go out as inches and ounces (`Parcel.inches`, `Parcel.weight_oz`).
The SDK has no per-call timeout, so its `requests.Session` gets one for every request; it makes no
retries of its own either way (and we ask for none): retrying and failing over is the pipeline's job.

What Shippo does not tell us directly:
- a purchase (`POST /transactions`) carries the attempt's idempotency key as `metadata`, so after a
  timeout `find_label` can list the transactions bought for that rate and recognise ours;
- a label file lives at `label_url`; once a label is paid for we never raise because its download
  failed (that would make the pipeline buy a second label elsewhere): the `Label` then carries the
  URL and no bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import requests
import shippo
from shippo.models import components, errors, operations
from shippo.utils.retries import RetryConfig

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

PROVIDER = "shippo"
LIST_PAGE_SIZE = 50
MAX_LIST_PAGES = 20  # find_label filters by rate, so one page is the normal case
ACCEPTED_REFUND_STATUSES = {"QUEUED", "PENDING", "SUCCESS"}
STILL_BUYING = {"QUEUED", "WAITING"}

# Shippo's tracking statuses in our vocabulary (base.TRACKING_STATUSES); UNKNOWN says nothing.
TRACKING_STATUS_MAP = {
    "PRE_TRANSIT": "pre_transit",
    "TRANSIT": "in_transit",
    "DELIVERED": "delivered",
    "RETURNED": "returned",
    "FAILURE": "exception",
}

# Our carrier names (Shippo's `provider`) to the carrier tokens of /tracks/{carrier}/…
CARRIER_TOKENS = {
    "usps": "usps",
    "ups": "ups",
    "fedex": "fedex",
    "dhl express": "dhl_express",
    "dhl ecommerce": "dhl_ecommerce",
    "ontrac": "ontrac",
    "lasership": "lasership",
}


class _TimeoutSession(requests.Session):
    """The SDK sends through `client.send(request)` with no timeout; every request gets ours."""

    def __init__(self, timeout: float):
        super().__init__()
        self.default_timeout = timeout

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().send(request, **kwargs)


class ShippoCarrier:
    provider = PROVIDER

    def __init__(self, *, api_key: str, base_url: str, timeout: float):
        key = (api_key or "").strip().removeprefix("ShippoToken ").strip()
        self.timeout = float(timeout)
        self._session = _TimeoutSession(self.timeout)
        self._sdk = shippo.Shippo(
            api_key_header=f"ShippoToken {key}",
            server_url=base_url,
            client=self._session,
            retry_config=RetryConfig("none", None, False),
        )

    # --- the Carrier protocol ------------------------------------------------------------------

    def rates(
        self, *, from_address: Address, to_address: Address, parcel: Parcel, reference: str
    ) -> list[Rate]:
        request = components.ShipmentCreateRequest(
            address_from=_address_request(from_address),
            address_to=_address_request(to_address),
            parcels=[_parcel_request(parcel)],
            metadata=reference[:100] or None,
            async_=False,
        )
        shipment = self._call("get rates", self._sdk.shipments.create, request)
        rates = [_rate(rate, shipment.object_id) for rate in shipment.rates or []]
        if not rates and shipment.messages:
            raise CarrierError(
                "Shippo returned no rates: " + _texts(shipment.messages), retryable=False, code="no_rates"
            )
        return rates

    def buy(self, request: BuyRequest) -> Label:
        """Buy synchronously (`async: false`); a `QUEUED` answer is polled until the timeout runs out,
        after which the outcome is unknown (CarrierTimeout) and `find_label` reconciles it."""
        file_types = components.LabelFileTypeEnum
        file_type = file_types.ZPLII if request.label_format == "zpl" else file_types.PDF_4X6
        transaction = self._call(
            "buy the label",
            self._sdk.transactions.create,
            components.TransactionCreateRequest(
                rate=request.rate.rate_id,
                async_=False,
                label_file_type=file_type,
                metadata=request.idempotency_key,
            ),
        )
        transaction = self._wait_while_queued(transaction)
        status = _value(transaction.status)
        if status == "SUCCESS":
            return self._label(transaction, request)
        if status in STILL_BUYING:
            raise CarrierTimeout("Shippo is still processing the label purchase; it will be checked again.")
        detail = _texts(transaction.messages) or f"the purchase ended with status {status or 'unknown'}"
        raise CarrierError(
            f"Shippo could not buy the label: {detail}", retryable=False, code="purchase_failed"
        )

    def find_label(self, request: BuyRequest) -> Label | None:
        """The transaction an earlier `buy(request)` created: listed by rate (a rate is bought at most
        once), recognised by its metadata (our idempotency key) or its rate. Only a SUCCESS is a
        label; one still QUEUED is an unknown outcome again (CarrierTimeout); errors are nothing."""
        rate_id = request.rate.rate_id
        matches = []
        for page in range(1, MAX_LIST_PAGES + 1):
            listing = self._call(
                "look up an earlier purchase",
                self._sdk.transactions.list,
                operations.ListTransactionsRequest(rate=rate_id or None, page=page, results=LIST_PAGE_SIZE),
            )
            for transaction in listing.results or []:
                mine = transaction.metadata == request.idempotency_key
                if mine or (rate_id and _rate_id(transaction.rate) == rate_id):
                    matches.append(transaction)
            if not listing.next:
                break
        for transaction in matches:
            if _value(transaction.status) == "SUCCESS":
                return self._label(transaction, request)
        if any(_value(t.status) in STILL_BUYING for t in matches):
            raise CarrierTimeout("Shippo is still processing an earlier label purchase for this order.")
        return None

    def void(self, *, label_id: str, shipment_id: str, tracking_number: str) -> bool:
        refund = self._call("void the label", self._sdk.refunds.create, transaction=label_id, async_=False)
        return _value(refund.status) in ACCEPTED_REFUND_STATUSES

    def track(self, *, tracking_number: str, carrier: str) -> list[TrackingUpdate]:
        token = CARRIER_TOKENS.get(carrier.strip().lower(), carrier.strip().lower().replace(" ", "_"))
        track = self._call("get tracking", self._sdk.tracking_status.get, tracking_number, token)
        return updates_from_track(json.loads(track.to_json()))

    def verify_address(self, address: Address) -> AddressCheck:
        request = _address_request(address)
        request.validate = True
        checked = self._call("verify the address", self._sdk.addresses.create, request)
        results = checked.validation_results
        if results is None:  # Shippo verifies only some countries
            return AddressCheck(ok=True)
        problems = tuple(dict.fromkeys(m.text for m in results.messages or [] if m.text))
        ok = bool(results.is_valid)
        return AddressCheck(ok=ok, problems=problems, suggested=_suggestion(address, checked) if ok else None)

    def test_connection(self) -> str:
        listing = self._call(
            "test the connection",
            self._sdk.carrier_accounts.list,
            operations.ListCarrierAccountsRequest(results=LIST_PAGE_SIZE),
        )
        active = [a for a in listing.results or [] if a.active is not False]
        names = sorted({str(a.carrier_name or a.carrier) for a in active})
        listed = f" ({', '.join(names)})" if names else ""
        return f"Connected to Shippo: {len(active)} active carrier account(s){listed}."

    # --- helpers -------------------------------------------------------------------------------

    def _call(self, action: str, fn, *args, **kwargs):
        """Run one SDK call, turning whatever goes wrong into a CarrierError a creator can read."""
        try:
            return fn(*args, **kwargs)
        except errors.SDKError as exc:
            raise _http_error(action, exc) from exc
        except requests.exceptions.ConnectTimeout as exc:  # nothing was sent: a plain retryable failure
            raise CarrierError(
                f"Shippo could not be reached to {action}.", retryable=True, code="unreachable"
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise CarrierTimeout(
                f"Shippo did not answer within {self.timeout:g} s when asked to {action}."
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise CarrierError(
                f"Shippo could not be reached to {action}.", retryable=True, code="unreachable"
            ) from exc
        except (AttributeError, ValueError, TypeError, KeyError) as exc:  # the SDK could not read the answer
            raise CarrierError(
                f"Shippo sent an answer we could not read when asked to {action}.",
                retryable=True,
                code="bad_response",
            ) from exc

    def _wait_while_queued(self, transaction):
        deadline = time.monotonic() + self.timeout
        pause = 0.1
        while _value(transaction.status) in STILL_BUYING and transaction.object_id:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 1.0)
            transaction = self._call(
                "check the label purchase", self._sdk.transactions.get, transaction.object_id
            )
        return transaction

    def _label(self, transaction, request: BuyRequest) -> Label:
        label_url = transaction.label_url or ""
        file_type = _value(transaction.label_file_type)
        label_format = "zpl" if file_type == "ZPLII" else ("pdf" if file_type else request.label_format)
        return Label(
            tracking_number=transaction.tracking_number or "",
            carrier=request.rate.carrier,
            service=request.rate.service,
            amount=request.rate.amount,
            currency=request.rate.currency,
            label_format=label_format,
            label_bytes=self._download(label_url),
            label_url=label_url,
            tracking_url=transaction.tracking_url_provider or "",
            provider_shipment_id=request.rate.provider_shipment_id,
            provider_label_id=transaction.object_id or "",
        )

    def _download(self, url: str) -> bytes:
        """The label file (a signed URL: no Authorization header). Two tries; b"" if both fail."""
        if not url:
            return b""
        for attempt in (1, 2):
            try:
                response = self._session.get(url, timeout=self.timeout)
                if response.status_code == 200 and response.content:
                    return response.content
                logger.warning("Shippo label download answered %s (try %s)", response.status_code, attempt)
            except requests.exceptions.RequestException as exc:
                logger.warning("Shippo label download failed (try %s): %s", attempt, exc)
        return b""


# --- webhooks ---------------------------------------------------------------------------------------


def parse_webhook(body: bytes) -> list[TrackingUpdate]:
    """Shippo's `track_updated` webhook body as our tracking updates, oldest first (the last is the
    parcel's current status). Other events, and bodies that are not a track, give []."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(payload, dict) or payload.get("event") != "track_updated":
        return []
    data = payload.get("data")
    if not isinstance(data, dict):
        return []
    updates = updates_from_track(data)
    if payload.get("test"):
        updates = [_with_extra(u, test=True) for u in updates]
    return updates


def updates_from_track(track: dict) -> list[TrackingUpdate]:
    """A Shippo Track (`tracking_status` + `tracking_history`) as updates, oldest first, UNKNOWN skipped."""
    tracking_number = str(track.get("tracking_number") or "")
    if not tracking_number:
        return []
    carrier = str(track.get("carrier") or "")
    history = track.get("tracking_history")
    entries = [e for e in history if isinstance(e, dict)] if isinstance(history, list) else []
    current = track.get("tracking_status")
    if isinstance(current, dict) and not any(_same_entry(current, e) for e in entries):
        entries.append(current)
    updates = [u for u in (_update(e, tracking_number, carrier) for e in entries) if u is not None]
    return sorted(updates, key=lambda u: u.occurred_at)


def _update(entry: dict, tracking_number: str, carrier: str) -> TrackingUpdate | None:
    raw = str(entry.get("status") or "").upper()
    status = TRACKING_STATUS_MAP.get(raw)
    if status is None:
        return None
    substatus = entry.get("substatus") if isinstance(entry.get("substatus"), dict) else {}
    sub_code = str(substatus.get("code") or "")
    details = str(entry.get("status_details") or "")
    if status == "in_transit" and (sub_code == "out_for_delivery" or "out for delivery" in details.lower()):
        status = "out_for_delivery"
    occurred_at = utc_time(entry.get("status_date")) or utc_time(entry.get("object_created"))
    occurred_at = occurred_at or datetime.now(UTC)
    event_id = (
        str(entry.get("object_id") or "")
        or hashlib.sha256(
            f"{tracking_number}|{raw}|{entry.get('status_date')}|{details}".encode()
        ).hexdigest()[:32]
    )
    extra = {"substatus": sub_code} if sub_code else {}
    return TrackingUpdate(
        tracking_number=tracking_number,
        status=status,
        occurred_at=occurred_at,
        message=details or str(substatus.get("text") or ""),
        location=_location(entry.get("location")),
        event_id=event_id,
        carrier=carrier,
        raw_status=raw,
        extra=extra,
    )


def _same_entry(a: dict, b: dict) -> bool:
    if a.get("object_id") and b.get("object_id"):
        return a["object_id"] == b["object_id"]
    return (a.get("status"), a.get("status_date")) == (b.get("status"), b.get("status_date"))


def _with_extra(update: TrackingUpdate, **extra) -> TrackingUpdate:
    return replace(update, extra={**update.extra, **extra})


def _location(location) -> str:
    if not isinstance(location, dict):
        return ""
    parts = (location.get(k) for k in ("city", "state", "zip", "country"))
    return ", ".join(str(p) for p in parts if p)


# --- request and response mapping ---------------------------------------------------------------


def _address_request(address: Address) -> components.AddressCreateRequest:
    return components.AddressCreateRequest(
        country=address.country,
        name=address.name or None,
        company=address.company or None,
        street1=address.street1,
        street2=address.street2 or None,
        city=address.city,
        state=address.state or None,
        zip=address.postal_code,
        phone=address.phone or None,
        email=address.email or None,
    )


def _parcel_request(parcel: Parcel) -> components.ParcelCreateRequest:
    length, width, height = parcel.inches
    weight = max(parcel.weight_oz, Decimal("0.1"))
    return components.ParcelCreateRequest(
        mass_unit=components.WeightUnitEnum.OZ,
        weight=str(weight),
        distance_unit=components.DistanceUnitEnum.IN,
        length=str(length),
        width=str(width),
        height=str(height),
    )


def _rate(rate, shipment_id: str) -> Rate:
    try:
        amount = Decimal(rate.amount)
    except (InvalidOperation, TypeError) as exc:
        raise CarrierError(
            f"Shippo sent a rate without a price ({rate.amount!r}).", code="bad_response"
        ) from exc
    servicelevel = rate.servicelevel
    return Rate(
        carrier=rate.provider,
        service=(servicelevel.name or servicelevel.token or "") if servicelevel else "",
        amount=amount,
        currency=rate.currency,
        est_days=rate.estimated_days,
        rate_id=rate.object_id,
        provider_shipment_id=shipment_id or "",
    )


def _suggestion(given: Address, checked) -> Address | None:
    """Shippo's standardised form, when it differs from what we sent (beyond letter case)."""
    pairs = {
        "street1": checked.street1,
        "street2": checked.street2,
        "city": checked.city,
        "state": checked.state,
        "postal_code": checked.zip,
    }
    changed = {k: v for k, v in pairs.items() if v and v.strip().lower() != getattr(given, k).strip().lower()}
    if not changed:
        return None
    return replace(given, **changed)


def _rate_id(rate) -> str:
    if isinstance(rate, str):
        return rate
    return getattr(rate, "object_id", None) or ""


def _value(enum_or_str) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str) or "")


def _texts(messages) -> str:
    texts = [getattr(m, "text", None) or (m if isinstance(m, str) else "") for m in messages or []]
    return "; ".join(dict.fromkeys(t for t in texts if t))


def _http_error(action: str, exc: errors.SDKError) -> CarrierError:
    status = exc.status_code
    detail = _error_detail(exc.body)
    if status in (401, 403):
        return CarrierError(
            f"Shippo refused the API key (HTTP {status}). Check the key in the Shippo carrier settings.",
            retryable=False,
            code="auth",
            status=status,
        )
    if status == 429:
        return CarrierError(
            "Shippo is limiting how fast we call it; the request will be tried again.",
            retryable=True,
            code="rate_limited",
            status=status,
        )
    if status >= 500:
        return CarrierError(
            f"Shippo had a server error (HTTP {status}) when asked to {action}.",
            retryable=True,
            code="provider_error",
            status=status,
        )
    suffix = f": {detail}" if detail else f" (HTTP {status})"
    return CarrierError(
        f"Shippo rejected the request to {action}{suffix}", retryable=False, code="rejected", status=status
    )


def _error_detail(body: str) -> str:
    """Shippo's error bodies: {"detail": …}, {"messages": [{"text": …}]} or {"field": ["…"]}."""
    try:
        payload = json.loads(body or "")
    except ValueError:
        return (body or "").strip()[:200]
    if isinstance(payload, dict):
        if isinstance(payload.get("detail"), str):
            return payload["detail"]
        if isinstance(payload.get("messages"), list):
            return "; ".join(
                str(m.get("text", m)) if isinstance(m, dict) else str(m) for m in payload["messages"]
            )
        parts = []
        for field, problem in payload.items():
            problem = "; ".join(map(str, problem)) if isinstance(problem, list) else str(problem)
            parts.append(f"{field}: {problem}")
        return "; ".join(parts)[:500]
    if isinstance(payload, list):
        return "; ".join(map(str, payload))[:500]
    return str(payload)[:200]
