"""EasyPost behind our carrier interface, through the official `easypost` SDK (v10).

The shape of the exchange:
- `rates` creates an EasyPost Shipment (addresses, parcel in inches and ounces, our reference, a 4x6
  PDF label as the default format) and returns its rates; `Rate.provider_shipment_id` is the shipment.
- `buy` buys one of those rates on its shipment. EasyPost has no idempotency key, but a shipment holds
  at most one label, so the shipment id is the natural key: a second buy of a bought shipment is
  answered "postage exists" and we return the label it already has. A ZPL label is obtained by
  converting the shipment's label (`GET /shipments/<id>/label?file_format=ZPL`).
- `find_label` (after a timeout or a crash) retrieves the shipment and returns its label, if any.
- Once postage is bought, nothing after it may fail the purchase: when the label file cannot be fetched
  the `Label` comes back with empty `label_bytes` (and `label_url` when known); `find_label` fetches it
  again later.

Each call is one HTTP request bounded by the carrier timeout: the SDK's own retrying adapter is
replaced by one that never retries (`_without_sdk_retries`).

Errors become `CarrierError`s with a message a creator can read: 5xx, 429 and connection failures are
retryable, other 4xx are not; no answer in time (or a 408/504, or an unreadable answer) is a
`CarrierTimeout`, because the request may have taken effect.

`parse_webhook(body)` turns an EasyPost `tracker.*` Event into `TrackingUpdate`s.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import easypost
import requests
from easypost.errors import ApiError, EasyPostError, HttpError, JsonError
from easypost.errors import TimeoutError as EasyPostTimeoutError
from requests.adapters import HTTPAdapter

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

# EasyPost's tracker statuses in our vocabulary (base.TRACKING_STATUSES); others are skipped.
STATUS_MAP = {
    "pre_transit": "pre_transit",
    "in_transit": "in_transit",
    "available_for_pickup": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "delivered": "delivered",
    "return_to_sender": "returned",
    "failure": "exception",
    "error": "exception",
}

REFUND_ACCEPTED = ("submitted", "refunded")
POSTAGE_EXISTS = "SHIPMENT.POSTAGE.EXISTS"
UNKNOWN_OUTCOME_STATUSES = (408, 504)


class EasyPostCarrier:
    provider = "easypost"

    def __init__(self, *, api_key: str, base_url: str, timeout: float):
        self.api_key = api_key or ""
        self.timeout = timeout
        self.client = easypost.EasyPostClient(self.api_key, api_base=base_url.rstrip("/"), timeout=timeout)
        _without_sdk_retries(self.client)

    # --- the interface ---------------------------------------------------------------------------

    def rates(
        self, *, from_address: Address, to_address: Address, parcel: Parcel, reference: str
    ) -> list[Rate]:
        shipment = self._call(
            "get rates",
            self.client.shipment.create,
            from_address=_address_params(from_address),
            to_address=_address_params(to_address),
            parcel=_parcel_params(parcel),
            reference=reference,
            options={"label_format": "PDF", "label_size": "4x6"},
        )
        rates = [_rate(r, shipment["id"]) for r in shipment.get("rates") or []]
        if not rates and shipment.get("messages"):
            # Every carrier on the account refused: say why instead of "no rates".
            reasons = "; ".join(
                f"{m.get('carrier') or 'carrier'}: {m.get('message')}"
                for m in shipment["messages"]
                if m.get("message")
            )
            raise CarrierError(f"EasyPost returned no rates ({reasons})", code="no_rates")
        return rates

    def buy(self, request: BuyRequest) -> Label:
        shipment_id, rate_id = request.rate.provider_shipment_id, request.rate.rate_id
        if not shipment_id or not rate_id:
            raise CarrierError(
                "This rate did not come from EasyPost (no shipment or rate id).", code="bad_rate"
            )
        try:
            shipment = self._call(
                "buy the label", self.client.shipment.buy, shipment_id, rate={"id": rate_id}
            )
        except CarrierTimeout:
            raise
        except CarrierError as exc:
            # A shipment holds one label: "postage exists" means an earlier attempt bought it.
            if exc.code != POSTAGE_EXISTS and exc.status not in (400, 409, 422):
                raise
            shipment = self._retrieve(shipment_id)
            if shipment is None or not shipment.get("postage_label"):
                raise
            logger.info("easypost: shipment %s was already bought; returning its label", shipment_id)
        return self._label(shipment, request.label_format)

    def find_label(self, request: BuyRequest) -> Label | None:
        shipment_id = request.rate.provider_shipment_id
        if not shipment_id:
            return None
        shipment = self._retrieve(shipment_id)
        if shipment is None or not shipment.get("postage_label"):
            return None
        return self._label(shipment, request.label_format)

    def void(self, *, label_id: str, shipment_id: str, tracking_number: str) -> bool:
        if not shipment_id:
            raise CarrierError(
                "EasyPost refunds a label by its shipment id, and none was given.", code="bad_request"
            )
        shipment = self._call("refund the label", self.client.shipment.refund, shipment_id)
        return (shipment.get("refund_status") or "") in REFUND_ACCEPTED

    def track(self, *, tracking_number: str, carrier: str) -> list[TrackingUpdate]:
        params = {"tracking_code": tracking_number}
        if carrier:
            params["carrier"] = carrier
        tracker = self._call("get tracking", self.client.tracker.create, **params)
        return tracker_updates(tracker)

    def verify_address(self, address: Address) -> AddressCheck:
        try:
            verified = self._call(
                "verify the address", self.client.address.create, verify=True, **_address_params(address)
            )
        except CarrierError as exc:
            if exc.status == 422 and exc.code.startswith("ADDRESS."):  # a strict verification's refusal
                return AddressCheck(ok=False, problems=(exc.message,))
            raise
        delivery = (verified.get("verifications") or {}).get("delivery") or {}
        if delivery and not delivery.get("success"):
            problems = _unique(_error_text(e) for e in delivery.get("errors") or [])
            return AddressCheck(ok=False, problems=problems or ("EasyPost could not verify this address.",))
        suggested = _our_address(verified, like=address)
        return AddressCheck(ok=True, suggested=suggested if suggested != address else None)

    def test_connection(self) -> str:
        user = self._call("check the connection", self.client.user.retrieve_me)
        who = user.get("name") or user.get("id") or "unknown user"
        email = user.get("email")
        return f"Connected to EasyPost as {who}" + (f" ({email})" if email else "")

    # --- helpers ---------------------------------------------------------------------------------

    def _call(self, action: str, method, *args, **kwargs) -> dict:
        """Call the SDK and give back plain dicts; every SDK failure becomes a CarrierError."""
        if not self.api_key:
            raise CarrierError("No EasyPost API key is set for this carrier account.", code="no_api_key")
        try:
            result = method(*args, **kwargs)
        except EasyPostError as exc:
            raise _carrier_error(exc, action) from exc
        return result.to_dict() if hasattr(result, "to_dict") else result

    def _retrieve(self, shipment_id: str) -> dict | None:
        try:
            return self._call("look up the shipment", self.client.shipment.retrieve, shipment_id)
        except CarrierError as exc:
            if exc.status == 404:
                return None
            raise

    def _label(self, shipment: dict, label_format: str) -> Label:
        """The Label of a bought shipment, with the file in `label_format` when it can be fetched."""
        fmt = "zpl" if (label_format or "").lower() == "zpl" else "pdf"
        postage = shipment.get("postage_label") or {}
        selected = shipment.get("selected_rate") or {}
        url = _label_url(postage, fmt)
        content = b""
        try:
            if not url:
                converted = self._call(
                    "convert the label", self.client.shipment.label, shipment["id"], file_format=fmt.upper()
                )
                url = _label_url(converted.get("postage_label") or {}, fmt)
            if url:
                content = self._download(url)
        except CarrierError as exc:
            # The postage is bought: report the label without its file rather than fail the purchase.
            logger.warning(
                "easypost: label file of shipment %s not fetched: %s", shipment.get("id"), exc.message
            )
        return Label(
            tracking_number=shipment.get("tracking_code") or "",
            carrier=selected.get("carrier") or "",
            service=selected.get("service") or "",
            amount=_decimal(selected.get("rate")),
            currency=selected.get("currency") or "USD",
            label_format=fmt,
            label_bytes=content,
            label_url=url,
            tracking_url=(shipment.get("tracker") or {}).get("public_url") or "",
            provider_shipment_id=shipment.get("id") or "",
            provider_label_id=postage.get("id") or "",
        )

    def _download(self, url: str) -> bytes:
        try:
            response = requests.get(url, timeout=self.timeout)
        except requests.Timeout as exc:
            raise CarrierTimeout("EasyPost's label file did not arrive in time.") from exc
        except requests.RequestException as exc:
            raise CarrierError(
                "Could not download the label file from EasyPost.", retryable=True, code="connection"
            ) from exc
        if response.status_code != 200 or not response.content:
            raise CarrierError(
                f"EasyPost's label file could not be downloaded (HTTP {response.status_code}).",
                retryable=response.status_code >= 500,
                code="label_download",
                status=response.status_code,
            )
        return response.content


def _without_sdk_retries(client) -> None:
    """The SDK mounts `HTTPAdapter(max_retries=3)` on its session, so a GET that times out is sent
    four times (one 4 s lookup took 16 s) and a refused connection is retried on every method. Each
    of our calls must be one request bounded by SHIPPING_CARRIER_TIMEOUT: retrying (with backoff,
    honouring the breaker) is the purchase pipeline's decision. Mounting an adapter with no retries
    on the same prefix replaces the SDK's."""
    session = getattr(client, "_requests_session", None)
    if session is None:  # an SDK that no longer keeps a session has nothing to undo
        return
    for prefix in list(session.adapters):
        session.mount(prefix, HTTPAdapter(max_retries=0))


# --- webhooks ------------------------------------------------------------------------------------


def parse_webhook(body: bytes) -> list[TrackingUpdate]:
    """The tracking updates of an EasyPost Event (`tracker.created` / `tracker.updated`), oldest first
    so the newest status is the last one. Other events, and statuses we have no word for, give nothing."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(event, dict):
        return []
    result = event.get("result")
    if not isinstance(result, dict) or result.get("object") != "Tracker":
        return []
    if not str(event.get("description") or "").startswith("tracker."):
        return []
    return tracker_updates(result, event_id=str(event.get("id") or ""))


def tracker_updates(tracker: dict, *, event_id: str = "") -> list[TrackingUpdate]:
    """An EasyPost Tracker's history as TrackingUpdates, oldest first."""
    code = str(tracker.get("tracking_code") or "")
    carrier = str(tracker.get("carrier") or "")
    fallback_time = utc_time(tracker.get("updated_at")) or datetime.now(UTC)
    listed = tracker.get("tracking_details")
    details = [d for d in listed if isinstance(d, dict)] if isinstance(listed, list) else []
    if not details and tracker.get("status"):
        details = [{"status": tracker["status"], "message": tracker.get("status_detail") or ""}]
    updates = []
    for detail in details:
        raw = str(detail.get("status") or "")
        status = STATUS_MAP.get(raw)
        if status is None:
            continue
        updates.append(
            TrackingUpdate(
                tracking_number=code,
                status=status,
                occurred_at=utc_time(detail.get("datetime")) or fallback_time,
                message=str(detail.get("message") or detail.get("description") or ""),
                location=_location(detail.get("tracking_location")),
                event_id=event_id,
                carrier=carrier,
                raw_status=raw,
                extra={
                    "tracker_id": tracker.get("id") or "",
                    "status_detail": detail.get("status_detail") or "",
                },
            )
        )
    updates.sort(key=lambda u: u.occurred_at)  # stable: equal times keep EasyPost's order
    return updates


# --- mapping -------------------------------------------------------------------------------------


def _address_params(address: Address) -> dict:
    values = {
        "name": address.name,
        "company": address.company,
        "street1": address.street1,
        "street2": address.street2,
        "city": address.city,
        "state": address.state,
        "zip": address.postal_code,
        "country": address.country,
        "phone": address.phone,
        "email": address.email,
    }
    return {k: v for k, v in values.items() if v}


def _our_address(easypost_address: dict, *, like: Address) -> Address:
    def pick(key: str, ours: str) -> str:
        return str(easypost_address.get(key) or ours or "")

    return Address(
        name=pick("name", like.name),
        company=pick("company", like.company),
        street1=pick("street1", like.street1),
        street2=pick("street2", like.street2),
        city=pick("city", like.city),
        state=pick("state", like.state),
        postal_code=pick("zip", like.postal_code),
        country=pick("country", like.country),
        phone=pick("phone", like.phone),
        email=pick("email", like.email),
    )


def _parcel_params(parcel: Parcel) -> dict:
    length, width, height = parcel.inches
    return {
        "length": float(length),
        "width": float(width),
        "height": float(height),
        "weight": float(parcel.weight_oz),
    }


def _rate(rate: dict, shipment_id: str) -> Rate:
    days = rate.get("delivery_days")
    if days is None:
        days = rate.get("est_delivery_days")
    return Rate(
        carrier=str(rate.get("carrier") or ""),
        service=str(rate.get("service") or ""),
        amount=_decimal(rate.get("rate")),
        currency=str(rate.get("currency") or "USD"),
        est_days=int(days) if days is not None else None,
        rate_id=str(rate.get("id") or ""),
        provider_shipment_id=str(rate.get("shipment_id") or shipment_id),
        delivery_date=_parse_date(rate.get("delivery_date")),
    )


def _label_url(postage: dict, fmt: str) -> str:
    if fmt == "zpl":
        return postage.get("label_zpl_url") or ""
    if postage.get("label_pdf_url"):
        return postage["label_pdf_url"]
    if postage.get("label_file_type") == "application/pdf":
        return postage.get("label_url") or ""
    return ""


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def _parse_date(value) -> date | None:
    parsed = utc_time(value)
    return parsed.date() if parsed else None


def _location(location) -> str:
    if not isinstance(location, dict):
        return ""
    city, state, zip_code, country = (str(location.get(k) or "") for k in ("city", "state", "zip", "country"))
    region = " ".join(p for p in (state, zip_code) if p)
    return ", ".join(p for p in (city, region, country) if p)


def _error_text(error) -> str:
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("code") or "").strip()
        field = str(error.get("field") or "").strip()
        if field and field not in ("address",) and field.lower() not in message.lower():
            return f"{field}: {message}"
        return message
    return str(error)


def _unique(texts) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for t in texts if t))


def _carrier_error(exc: EasyPostError, action: str) -> CarrierError:
    """One SDK exception as a CarrierError whose message says what happened in plain words."""
    status = getattr(exc, "http_status", None)
    if isinstance(exc, EasyPostTimeoutError) or status in UNKNOWN_OUTCOME_STATUSES:
        return CarrierTimeout(f"EasyPost did not answer in time when asked to {action}.")
    if not isinstance(exc, ApiError):
        return CarrierError(f"EasyPost could not {action}: {exc}", code="sdk_error")
    if isinstance(exc, HttpError) or (status is None and not isinstance(exc, JsonError)):
        return CarrierError(
            f"Could not reach EasyPost to {action}; it will be tried again.",
            retryable=True,
            code="connection",
        )
    if isinstance(exc, JsonError) and (status is None or status < 300):
        # A success status with an unreadable body: the request may have worked.
        return CarrierTimeout(f"EasyPost's answer could not be read when asked to {action}.")
    code = str(getattr(exc, "code", "") or "") or f"http_{status}"
    detail = _describe(exc)
    if status == 401:
        return CarrierError(
            "EasyPost rejected the API key: check the key in your carrier settings.", code=code, status=status
        )
    if status == 429:
        return CarrierError(
            "EasyPost is limiting how fast we may call it; it will be tried again shortly.",
            retryable=True,
            code=code,
            status=status,
        )
    if status >= 500:
        return CarrierError(
            f"EasyPost had a problem on its side (HTTP {status}) when asked to {action}"
            + (f": {detail}" if detail else "."),
            retryable=True,
            code=code,
            status=status,
        )
    return CarrierError(
        f"EasyPost could not {action}" + (f": {detail}" if detail else f" (HTTP {status})."),
        code=code,
        status=status,
    )


def _describe(exc: ApiError) -> str:
    message = str(getattr(exc, "message", "") or "").strip().rstrip(".")
    details = _unique(_error_text(e) for e in (getattr(exc, "errors", None) or []))
    if details:
        return f"{message} ({'; '.join(details)})" if message else "; ".join(details)
    return message
