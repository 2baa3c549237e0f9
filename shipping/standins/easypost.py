"""A local EasyPost: enough of the v2 API, in EasyPost's JSON shapes, for the official SDK to talk to.

Served on 127.0.0.1 (port 0 picks a free one) under `/v2`, the path the SDK's `api_base` ends with:

- `POST /v2/shipments`, `GET /v2/shipments/<id>`, `POST /v2/shipments/<id>/buy`,
  `GET /v2/shipments/<id>/label?file_format=PDF|ZPL`, `POST /v2/shipments/<id>/refund`
- `POST /v2/trackers`, `GET /v2/trackers/<id>`, `POST /v2/addresses` (with `verify`/`verify_strict`),
  `GET /v2/users`
- `GET /files/<postage label id>.pdf|.zpl`: the label file (public, like EasyPost's file URLs).

It keeps state (shipments, labels, trackers) so reconciling after a timeout can be tested, and it has
fault switches: `fail_next`, `slow_next`, `slow_buy_after_recording`. Every API call needs
`Authorization: Bearer <api_key>`; another key is a 401. Errors are `{"error": {"code", "message",
"errors": []}}` with the HTTP status EasyPost uses.

Rates are deterministic from the weight: USPS GroundAdvantage and Priority, UPS Ground, FedEx
FEDEX_GROUND. Test-mode tracking codes `EZ1000000001` … `EZ7000000007` answer with canned
histories (pre_transit, in_transit, out_for_delivery, delivered, return_to_sender, failure, unknown),
as EasyPost's test mode does.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

DEFAULT_API_KEY = "EZTKstandin0000000000000000000000"

# carrier, service, base price, price per pound, days in transit
SERVICES = (
    ("USPS", "GroundAdvantage", Decimal("5.25"), Decimal("1.10"), 5),
    ("USPS", "Priority", Decimal("8.70"), Decimal("1.55"), 2),
    ("UPS", "Ground", Decimal("9.40"), Decimal("1.20"), 4),
    ("FedEx", "FEDEX_GROUND", Decimal("9.10"), Decimal("1.25"), 4),
)

# EasyPost's test tracking codes and the status each one reports.
TEST_TRACKING_CODES = {
    "EZ1000000001": "pre_transit",
    "EZ2000000002": "in_transit",
    "EZ3000000003": "out_for_delivery",
    "EZ4000000004": "delivered",
    "EZ5000000005": "return_to_sender",
    "EZ6000000006": "failure",
    "EZ7000000007": "unknown",
}
HISTORY = ("pre_transit", "in_transit", "out_for_delivery", "delivered")
STATUS_MESSAGES = {
    "pre_transit": "Shipping Label Created",
    "in_transit": "Arrived at USPS Regional Facility",
    "out_for_delivery": "Out for Delivery",
    "delivered": "Delivered, In/At Mailbox",
    "return_to_sender": "Return to Sender Processed",
    "failure": "Delivery Attempted - No Access to Delivery Location",
    "unknown": "Status Not Available",
}

ZIP_US = re.compile(r"^\d{5}(-\d{4})?$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, errors: list | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or []

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "errors": self.errors}}


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def label_pdf(*, tracking_code: str, carrier: str, service: str, to_address: dict, reference: str) -> bytes:
    """A 4x6 inch (288 x 432 pt) label with the tracking code as text and as a Code128 barcode."""
    from reportlab.graphics.barcode import code128
    from reportlab.lib.units import inch
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(4 * inch, 6 * inch))
    page.setFont("Helvetica-Bold", 16)
    page.drawString(18, 400, f"{carrier} {service}")
    page.setFont("Helvetica", 10)
    lines = [
        "SHIP TO:",
        str(to_address.get("name") or ""),
        str(to_address.get("street1") or ""),
        f"{to_address.get('city') or ''} {to_address.get('state') or ''} {to_address.get('zip') or ''}",
        str(to_address.get("country") or ""),
    ]
    for offset, line in enumerate(lines):
        page.drawString(18, 360 - offset * 13, line)
    barcode = code128.Code128(tracking_code, barHeight=60, barWidth=1.1)
    barcode.drawOn(page, 12, 150)
    page.setFont("Helvetica-Bold", 12)
    page.drawString(18, 130, f"TRACKING # {tracking_code}")
    if reference:
        page.setFont("Helvetica", 9)
        page.drawString(18, 40, f"Ref: {reference}")
    page.showPage()
    page.save()
    return buffer.getvalue()


def label_zpl(*, tracking_code: str, carrier: str, service: str, to_address: dict, reference: str) -> bytes:
    lines = [
        "^XA",
        f"^FO40,40^A0N,40,40^FD{carrier} {service}^FS",
        f"^FO40,120^A0N,28,28^FD{to_address.get('name') or ''}^FS",
        f"^FO40,160^A0N,28,28^FD{to_address.get('street1') or ''}^FS",
        f"^FO40,200^A0N,28,28^FD{to_address.get('city') or ''} {to_address.get('state') or ''} "
        f"{to_address.get('zip') or ''}^FS",
        f"^FO40,300^BY3^BCN,160,Y,N,N^FD{tracking_code}^FS",
        f"^FO40,560^A0N,24,24^FDRef: {reference}^FS",
        "^XZ",
    ]
    return ("\n".join(lines) + "\n").encode()


class EasyPostStandIn:
    """One stand-in server. `start()` then use `base_url` and `api_key`; `stop()` when done.

    Fault switches (thread-safe, for tests):
    - `fail_next(n, status=500)`: the next n API requests answer `status` (500, 429, 503…).
    - `slow_next(n, seconds)`: the next n API requests wait `seconds` before being handled.
    - `slow_buy_after_recording(n, seconds)`: the next n buys record the purchase, then wait before
      answering, so a client that times out has in fact bought the label.
    """

    def __init__(self, *, api_key: str = DEFAULT_API_KEY, port: int = 0, slow_seconds: float = 2.0):
        self.api_key = api_key
        self.port = port
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.shipments: dict[str, dict] = {}
        self.trackers: dict[str, dict] = {}  # by tracking code
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (content, content type)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every API request
        self.buy_calls = 0
        self._fail: list[int] = []
        self._slow: list[float] = []
        self._slow_buys: list[float] = []
        self._sequence = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> EasyPostStandIn:
        self._server = _Server(("127.0.0.1", self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="easypost-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # slow handlers stop waiting
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What `EasyPostClient(api_base=...)` takes: the SDK appends `/shipments` etc. to it."""
        return f"{self.root_url}/v2"

    # --- fault switches --------------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        with self.lock:
            self._fail.extend([status] * count)

    def slow_next(self, count: int = 1, *, seconds: float | None = None) -> None:
        with self.lock:
            self._slow.extend([seconds or self.slow_seconds] * count)

    def slow_buy_after_recording(self, count: int = 1, *, seconds: float | None = None) -> None:
        with self.lock:
            self._slow_buys.extend([seconds or self.slow_seconds] * count)

    def reset_faults(self) -> None:
        with self.lock:
            self._fail.clear()
            self._slow.clear()
            self._slow_buys.clear()

    # --- what tests look at ----------------------------------------------------------------------

    @property
    def labels_bought(self) -> int:
        with self.lock:
            return sum(1 for s in self.shipments.values() if s["postage_label"] is not None)

    def shipment(self, shipment_id: str) -> dict:
        with self.lock:
            return json.loads(json.dumps(self.shipments[shipment_id]))

    def advance_tracker(self, tracking_code: str, status: str, *, message: str = "", city: str = "") -> dict:
        """Add a tracking detail (EasyPost's vocabulary) to the tracker of `tracking_code`."""
        with self.lock:
            tracker = self._tracker_for(tracking_code, carrier="USPS")
            tracker["status"] = status
            tracker["updated_at"] = _now()
            tracker["tracking_details"].append(
                _detail(status, message or STATUS_MESSAGES.get(status, status), city=city)
            )
            return json.loads(json.dumps(tracker))

    def tracker_event(self, tracking_code: str, *, event_id: str = "") -> bytes:
        """The body EasyPost would POST to a webhook for this tracker's latest state."""
        with self.lock:
            tracker = json.loads(json.dumps(self._tracker_for(tracking_code, carrier="USPS")))
        event = {
            "object": "Event",
            "id": event_id or _new_id("evt"),
            "mode": "test",
            "description": "tracker.updated",
            "previous_attributes": {},
            "result": tracker,
            "status": "pending",
            "pending_urls": [],
            "completed_urls": [],
            "created_at": _now(),
            "updated_at": _now(),
        }
        return json.dumps(event).encode()

    # --- request handling ------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers, body: bytes) -> Response:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/")
        if method == "GET" and path.startswith("/files/"):
            with self.lock:
                found = self.files.get(path)
            if found is None:
                return Response(404, b"Not Found", "text/plain")
            return Response(200, *found)
        if not path.startswith("/v2/"):
            return _error(ApiError(404, "NOT_FOUND", "The requested resource could not be found."))
        with self.lock:
            self.requests.append((method, path))
            fail = self._fail.pop(0) if self._fail else None
            slow = self._slow.pop(0) if self._slow else None
        if slow:
            self.stopping.wait(slow)
        if fail:
            return _fault(fail)
        if headers.get("Authorization", "") != f"Bearer {self.api_key}":
            return _error(
                ApiError(401, "APIKEY.INACTIVE", "The API key provided is missing, invalid or inactive.")
            )
        try:
            params = dict(parse_qsl(parts.query))
            if body.strip():
                params.update(json.loads(body))
            payload = self._route(method, path, params)
        except ApiError as exc:
            return _error(exc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return _error(ApiError(422, "PARAMETER.INVALID", f"Invalid request: {exc}"))
        return Response(200, json.dumps(payload).encode())

    def _route(self, method: str, path: str, params: dict) -> dict:
        segments = path.split("/")[2:]  # after "/v2"
        match (method, segments):
            case ("POST", ["shipments"]):
                return self._create_shipment(params.get("shipment") or {})
            case ("GET", ["shipments", shipment_id]):
                return self._get_shipment(shipment_id)
            case ("POST", ["shipments", shipment_id, "buy"]):
                return self._buy(shipment_id, params)
            case ("GET", ["shipments", shipment_id, "label"]):
                return self._convert_label(shipment_id, str(params.get("file_format") or "PDF"))
            case ("POST", ["shipments", shipment_id, "refund"]):
                return self._refund(shipment_id)
            case ("POST", ["trackers"]):
                return self._create_tracker(params.get("tracker") or {})
            case ("GET", ["trackers", tracker_id]):
                return self._get_tracker(tracker_id)
            case ("POST", ["addresses"]):
                return self._create_address(params)
            case ("GET", ["users"]):
                return {
                    "object": "User",
                    "id": "user_standin0001",
                    "name": "Stand-in Shipper",
                    "email": "shipper@example.com",
                    "phone_number": "5555550100",
                    "balance": "100.00000",
                    "children": [],
                }
        raise ApiError(404, "NOT_FOUND", "The requested resource could not be found.")

    # --- shipments -------------------------------------------------------------------------------

    def _create_shipment(self, spec: dict) -> dict:
        parcel = spec.get("parcel") or {}
        try:
            weight = Decimal(str(parcel.get("weight")))
        except ArithmeticError:
            weight = Decimal(0)
        if not weight or weight <= 0:
            raise ApiError(
                422,
                "PARCEL.WEIGHT.INVALID",
                "Parcel weight must be greater than zero.",
                [{"field": "parcel.weight", "message": "must be greater than zero"}],
            )
        for side in ("to_address", "from_address"):
            if not (spec.get(side) or {}).get("street1"):
                raise ApiError(
                    422,
                    "ADDRESS.STREET1.MISSING",
                    f"{side} is missing street1.",
                    [{"field": f"{side}.street1", "message": "cannot be blank"}],
                )
        shipment_id = _new_id("shp")
        now = _now()
        options = dict(spec.get("options") or {})
        options.setdefault("label_format", "PNG")
        shipment = {
            "object": "Shipment",
            "id": shipment_id,
            "mode": "test",
            "reference": spec.get("reference"),
            "status": "unknown",
            "tracking_code": None,
            "to_address": _address(spec["to_address"]),
            "from_address": _address(spec["from_address"]),
            "return_address": _address(spec["from_address"]),
            "buyer_address": _address(spec["to_address"]),
            "parcel": {
                "object": "Parcel",
                "id": _new_id("prcl"),
                "mode": "test",
                "length": parcel.get("length"),
                "width": parcel.get("width"),
                "height": parcel.get("height"),
                "weight": float(weight),
                "predefined_package": None,
                "created_at": now,
                "updated_at": now,
            },
            "options": options,
            "rates": [_rate(shipment_id, weight, *service) for service in SERVICES],
            "selected_rate": None,
            "postage_label": None,
            "tracker": None,
            "refund_status": None,
            "fees": [],
            "messages": [],
            "customs_info": None,
            "insurance": None,
            "is_return": False,
            "batch_id": None,
            "batch_status": None,
            "batch_message": None,
            "usps_zone": 4,
            "forms": [],
            "created_at": now,
            "updated_at": now,
        }
        with self.lock:
            self.shipments[shipment_id] = shipment
            return json.loads(json.dumps(shipment))

    def _shipment_or_404(self, shipment_id: str) -> dict:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            raise ApiError(404, "SHIPMENT.NOT_FOUND", "The requested shipment could not be found.")
        return shipment

    def _get_shipment(self, shipment_id: str) -> dict:
        with self.lock:
            return json.loads(json.dumps(self._shipment_or_404(shipment_id)))

    def _buy(self, shipment_id: str, params: dict) -> dict:
        rate_id = (params.get("rate") or {}).get("id")
        with self.lock:
            self.buy_calls += 1
            shipment = self._shipment_or_404(shipment_id)
            if shipment["postage_label"] is not None:
                raise ApiError(422, "SHIPMENT.POSTAGE.EXISTS", "Postage already exists for this shipment.")
            rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
            if rate is None:
                raise ApiError(
                    422,
                    "SHIPMENT.RATE.NOT_FOUND",
                    "The rate selected is not a rate of this shipment.",
                    [{"field": "rate.id", "message": "is not a rate of this shipment"}],
                )
            self._sequence += 1
            tracking_code = _tracking_code(rate["carrier"], self._sequence)
            label = self._postage_label(shipment, rate, tracking_code)
            tracker = self._tracker_for(tracking_code, carrier=rate["carrier"], shipment_id=shipment_id)
            shipment.update(
                selected_rate=rate,
                postage_label=label,
                tracking_code=tracking_code,
                tracker=tracker,
                status="unknown",
                fees=[
                    {
                        "object": "Fee",
                        "type": "LabelFee",
                        "amount": "0.00000",
                        "charged": True,
                        "refunded": False,
                    },
                    {
                        "object": "Fee",
                        "type": "PostageFee",
                        "amount": rate["rate"],
                        "charged": True,
                        "refunded": False,
                    },
                ],
                updated_at=_now(),
            )
            answer = json.loads(json.dumps(shipment))
            slow = self._slow_buys.pop(0) if self._slow_buys else None
        if slow:
            self.stopping.wait(slow)
        return answer

    def _postage_label(self, shipment: dict, rate: dict, tracking_code: str) -> dict:
        label_id = _new_id("pl")
        file_format = str(shipment["options"].get("label_format") or "PNG").upper()
        now = _now()
        label = {
            "object": "PostageLabel",
            "id": label_id,
            "created_at": now,
            "updated_at": now,
            "date_advance": 0,
            "integrated_form": "none",
            "label_date": now,
            "label_resolution": 300,
            "label_size": shipment["options"].get("label_size") or "4x6",
            "label_type": "default",
            "label_file": None,
            "label_pdf_url": None,
            "label_zpl_url": None,
            "label_epl2_url": None,
        }
        # EasyPost's default is a PNG; the stand-in serves a PDF in its place so label_url is printable.
        kind = "zpl" if file_format == "ZPL" else "pdf"
        url = self._store_label_file(label_id, kind, shipment, rate, tracking_code)
        label["label_url"] = url
        label["label_file_type"] = "application/zpl" if kind == "zpl" else "application/pdf"
        label[f"label_{kind}_url"] = url
        return label

    def _store_label_file(
        self, label_id: str, kind: str, shipment: dict, rate: dict, tracking_code: str
    ) -> str:
        render = label_zpl if kind == "zpl" else label_pdf
        content = render(
            tracking_code=tracking_code,
            carrier=rate["carrier"],
            service=rate["service"],
            to_address=shipment["to_address"],
            reference=str(shipment.get("reference") or ""),
        )
        path = f"/files/postage_label/{label_id}.{kind}"
        self.files[path] = (content, "application/pdf" if kind == "pdf" else "text/plain; charset=utf-8")
        return self.root_url + path

    def _convert_label(self, shipment_id: str, file_format: str) -> dict:
        kind = file_format.lower()
        if kind not in ("pdf", "zpl"):
            raise ApiError(422, "SHIPMENT.LABEL.FORMAT", f"Unsupported file_format {file_format}.")
        with self.lock:
            shipment = self._shipment_or_404(shipment_id)
            label = shipment["postage_label"]
            if label is None:
                raise ApiError(422, "SHIPMENT.POSTAGE.REQUIRED", "This shipment has no postage to convert.")
            if not label.get(f"label_{kind}_url"):
                label[f"label_{kind}_url"] = self._store_label_file(
                    label["id"], kind, shipment, shipment["selected_rate"], shipment["tracking_code"]
                )
                label["updated_at"] = _now()
            return json.loads(json.dumps(shipment))

    def _refund(self, shipment_id: str) -> dict:
        with self.lock:
            shipment = self._shipment_or_404(shipment_id)
            if shipment["postage_label"] is None:
                raise ApiError(422, "SHIPMENT.REFUND.UNAVAILABLE", "This shipment has no postage to refund.")
            tracker = self.trackers.get(shipment["tracking_code"]) or {}
            if tracker.get("status") in ("in_transit", "out_for_delivery", "delivered"):
                shipment["refund_status"] = "rejected"
            elif shipment["refund_status"] is None:
                shipment["refund_status"] = "submitted"
            shipment["updated_at"] = _now()
            return json.loads(json.dumps(shipment))

    # --- trackers and addresses ------------------------------------------------------------------

    def _tracker_for(self, tracking_code: str, *, carrier: str, shipment_id: str | None = None) -> dict:
        """The tracker of a code, created on first use (call with the lock held)."""
        tracker = self.trackers.get(tracking_code)
        if tracker is None:
            test_status = TEST_TRACKING_CODES.get(tracking_code)
            if test_status is None:
                details = [_detail("pre_transit", STATUS_MESSAGES["pre_transit"])]
            elif test_status in HISTORY:
                steps = HISTORY[: HISTORY.index(test_status) + 1]
                details = [
                    _detail(s, STATUS_MESSAGES[s], hours_ago=10 * (len(steps) - i))
                    for i, s in enumerate(steps)
                ]
            else:
                details = [
                    _detail("pre_transit", STATUS_MESSAGES["pre_transit"], hours_ago=20),
                    _detail("in_transit", STATUS_MESSAGES["in_transit"], hours_ago=10),
                    _detail(test_status, STATUS_MESSAGES[test_status]),
                ]
            tracker_id = _new_id("trk")
            tracker = {
                "object": "Tracker",
                "id": tracker_id,
                "mode": "test",
                "tracking_code": tracking_code,
                "status": details[-1]["status"],
                "status_detail": "status_update",
                "signed_by": None,
                "weight": None,
                "est_delivery_date": None,
                "shipment_id": shipment_id,
                "carrier": carrier,
                "tracking_details": details,
                "carrier_detail": None,
                "public_url": f"{self.root_url}/track/{tracker_id}",
                "fees": [],
                "created_at": _now(),
                "updated_at": _now(),
            }
            self.trackers[tracking_code] = tracker
        return tracker

    def _create_tracker(self, spec: dict) -> dict:
        code = str(spec.get("tracking_code") or "").strip()
        if not code:
            raise ApiError(
                422,
                "TRACKER.TRACKING_CODE.MISSING",
                "A tracking code is required.",
                [{"field": "tracking_code", "message": "cannot be blank"}],
            )
        with self.lock:
            return json.loads(json.dumps(self._tracker_for(code, carrier=str(spec.get("carrier") or "USPS"))))

    def _get_tracker(self, tracker_id: str) -> dict:
        with self.lock:
            for tracker in self.trackers.values():
                if tracker["id"] == tracker_id:
                    return json.loads(json.dumps(tracker))
        raise ApiError(404, "TRACKER.NOT_FOUND", "The requested tracker could not be found.")

    def _create_address(self, params: dict) -> dict:
        spec = params.get("address") or {}
        address = _address(spec)
        wants = bool(params.get("verify")) or bool(params.get("verify_strict"))
        if not wants:
            return address
        errors = _verification_errors(address)
        if errors and params.get("verify_strict"):
            raise ApiError(422, "ADDRESS.VERIFY.FAILURE", "Unable to verify address.", errors)
        if not errors:  # a verified address comes back normalised, as EasyPost does
            for key in ("street1", "street2", "city", "state"):
                address[key] = (address.get(key) or "").upper() or None
        address["verifications"] = {
            "delivery": {
                "success": not errors,
                "errors": errors,
                "details": None
                if errors
                else {"latitude": 37.79, "longitude": -122.4, "time_zone": "America/Los_Angeles"},
            },
            "zip4": {"success": not errors, "errors": errors, "details": None},
        }
        return address


def _address(spec: dict) -> dict:
    now = _now()
    return {
        "object": "Address",
        "id": _new_id("adr"),
        "mode": "test",
        "name": spec.get("name"),
        "company": spec.get("company"),
        "street1": spec.get("street1"),
        "street2": spec.get("street2"),
        "city": spec.get("city"),
        "state": spec.get("state"),
        "zip": spec.get("zip"),
        "country": spec.get("country") or "US",
        "phone": spec.get("phone"),
        "email": spec.get("email"),
        "residential": None,
        "carrier_facility": None,
        "federal_tax_id": None,
        "state_tax_id": None,
        "verifications": {},
        "created_at": now,
        "updated_at": now,
    }


def _verification_errors(address: dict) -> list[dict]:
    """Deterministic rules: a US ZIP must look like one, street1 needs a house number, and any street
    containing "nowhere" does not exist."""
    errors = []
    street = str(address.get("street1") or "")
    if (address.get("country") or "US") == "US" and not ZIP_US.match(str(address.get("zip") or "")):
        errors.append(
            {"code": "E.ADDRESS.INVALID", "field": "zip", "message": "Invalid zip code", "suggestion": None}
        )
    if "nowhere" in street.lower():
        errors.append(
            {
                "code": "E.ADDRESS.NOT_FOUND",
                "field": "address",
                "message": "Address not found",
                "suggestion": None,
            }
        )
    elif not re.match(r"^\s*\d", street):
        errors.append(
            {
                "code": "E.HOUSE_NUMBER.MISSING",
                "field": "street1",
                "message": "House number is missing",
                "suggestion": None,
            }
        )
    return errors


def _rate(shipment_id: str, weight_oz: Decimal, carrier: str, service: str, base, per_lb, days) -> dict:
    pounds = max(1, int((weight_oz / 16).to_integral_value(rounding=ROUND_CEILING)))
    amount = _money(base + per_lb * pounds)
    retail = _money(Decimal(amount) * Decimal("1.15"))
    now = _now()
    return {
        "object": "Rate",
        "id": _new_id("rate"),
        "mode": "test",
        "service": service,
        "carrier": carrier,
        "rate": amount,
        "currency": "USD",
        "retail_rate": retail,
        "retail_currency": "USD",
        "list_rate": retail,
        "list_currency": "USD",
        "billing_type": "easypost",
        "delivery_days": days,
        "delivery_date": None,
        "delivery_date_guaranteed": False,
        "est_delivery_days": days,
        "shipment_id": shipment_id,
        "carrier_account_id": f"ca_{carrier.lower()}standin",
        "created_at": now,
        "updated_at": now,
    }


def _tracking_code(carrier: str, sequence: int) -> str:
    if carrier == "USPS":
        return f"9400100000{sequence:012d}"
    if carrier == "UPS":
        return f"1ZSTANDIN{sequence:09d}"
    return f"7{sequence:011d}"


def _detail(status: str, message: str, *, city: str = "", hours_ago: int = 0) -> dict:
    when = (datetime.now(UTC) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "object": "TrackingDetail",
        "message": message,
        "description": message,
        "status": status,
        "status_detail": "status_update",
        "datetime": when,
        "source": "USPS",
        "carrier_code": None,
        "tracking_location": {
            "object": "TrackingLocation",
            "city": city or "SAN FRANCISCO",
            "state": "CA",
            "country": "US",
            "zip": "94107",
        },
    }


def _error(exc: ApiError) -> Response:
    return Response(exc.status, json.dumps(exc.body()).encode())


def _fault(status: int) -> Response:
    if status == 429:
        exc = ApiError(429, "RATE_LIMITED", "You have made too many requests. Please slow down.")
        return Response(429, json.dumps(exc.body()).encode(), headers=(("Retry-After", "1"),))
    exc = ApiError(status, "INTERNAL_SERVER_ERROR", "We're sorry, something went wrong on our side.")
    return Response(status, json.dumps(exc.body()).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, standin: EasyPostStandIn):
        self.standin = standin
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a stopped stand-in leaves no idle keep-alive behind.
    server_version = "EasyPostStandIn/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        return

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.standin.handle(method, self.path, self.headers, body)
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def do_GET(self):  # noqa: N802 - the base class's naming
        self._serve("GET")

    def do_POST(self):  # noqa: N802
        self._serve("POST")

    def do_DELETE(self):  # noqa: N802
        self._serve("DELETE")

    def do_PATCH(self):  # noqa: N802
        self._serve("PATCH")
