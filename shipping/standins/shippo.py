"""A local stand-in for the Shippo API, spoken to by the official `shippo` SDK in tests and demos.

It answers with Shippo's JSON shapes (the fields the SDK's models require are all present) and keeps
its own state, so a label bought here can be listed, tracked and refunded afterwards:

- `POST /shipments` → a Shipment with deterministic `rates[]` (USPS Ground Advantage and Priority
  Mail, UPS Ground, FedEx Ground) priced from the parcel's weight;
- `POST /transactions` buys a rate (`SUCCESS`, or `ERROR` with `messages[]`), `GET /transactions`
  lists newest first in pages (`page`, `results`, `next`; `rate` filters), `GET /transactions/{id}`;
- `POST /refunds`, `GET /tracks/{carrier}/{tracking_number}`, `POST /addresses` (with `validate`),
  `GET /carrier_accounts`;
- `GET /labels/{transaction}.pdf|.zpl`: the label file at `label_url` (a 4×6 PDF drawn with
  reportlab, or ZPL II text), served without authentication like Shippo's signed file URLs.

Every API path checks `Authorization: ShippoToken <key>` (401 otherwise) and accepts a trailing
slash or not. Faults for tests, each counted down per request: `fail_next` (answer a status such as
500 or 429), `delay_next` (answer only after the client gave up), `delay_next_purchase_after_recording`
(the label *is* bought, then the answer is late), `refuse_next_purchase` (a Shippo `ERROR`
transaction), `queue_next_purchase` (`QUEUED`, done at the next read).
"""

from __future__ import annotations

import io
import json
import math
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

DEFAULT_API_KEY = "shippo_test_standin0000000000000000000000"
OWNER = "standin@example.com"
GRAMS_PER_OZ = Decimal("28.349523125")


@dataclass(frozen=True)
class ServiceLevel:
    provider: str
    name: str
    token: str
    base: Decimal
    per_oz: Decimal
    days: int
    carrier_token: str  # the carrier's token in Shippo's /tracks/{carrier}/… paths


SERVICE_LEVELS = (
    ServiceLevel(
        "USPS", "Ground Advantage", "usps_ground_advantage", Decimal("4.35"), Decimal("0.28"), 5, "usps"
    ),
    ServiceLevel("USPS", "Priority Mail", "usps_priority", Decimal("8.70"), Decimal("0.42"), 2, "usps"),
    ServiceLevel("UPS", "Ground", "ups_ground", Decimal("10.20"), Decimal("0.31"), 4, "ups"),
    ServiceLevel("FedEx", "FedEx Ground", "fedex_ground", Decimal("9.95"), Decimal("0.33"), 4, "fedex"),
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def new_id() -> str:
    return secrets.token_hex(16)


def weight_in_oz(parcel: dict) -> Decimal:
    weight = Decimal(str(parcel.get("weight") or "0"))
    unit = str(parcel.get("mass_unit") or "oz").lower()
    factor = {"oz": Decimal(1), "lb": Decimal(16), "g": 1 / GRAMS_PER_OZ, "kg": 1000 / GRAMS_PER_OZ}
    return weight * factor.get(unit, Decimal(1))


def price(level: ServiceLevel, oz: Decimal) -> Decimal:
    return (level.base + level.per_oz * max(1, math.ceil(oz))).quantize(Decimal("0.01"))


def tracking_number_for(level: ServiceLevel, serial: int) -> str:
    if level.provider == "USPS":
        return f"9400{serial:018d}"
    if level.provider == "UPS":
        return f"1Z999AA1{serial:010d}"
    return f"{770000000000 + serial}"


def tracking_url_for(level: ServiceLevel, tracking_number: str) -> str:
    return {
        "usps": f"https://tools.usps.com/go/TrackConfirmAction_input?origTrackNum={tracking_number}",
        "ups": f"https://www.ups.com/track?tracknum={tracking_number}",
        "fedex": f"https://www.fedex.com/fedextrack/?trknbr={tracking_number}",
    }[level.carrier_token]


def pdf_label(*, tracking_number: str, level: ServiceLevel, address_to: dict) -> bytes:
    """A 4×6 inch label naming the service, the recipient and the tracking number."""
    from reportlab.lib.units import inch
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(4 * inch, 6 * inch))
    page.setFont("Helvetica-Bold", 18)
    page.drawString(0.3 * inch, 5.4 * inch, f"{level.provider} {level.name}")
    page.setFont("Helvetica", 11)
    lines = [
        address_to.get("name", ""),
        address_to.get("street1", ""),
        f"{address_to.get('city', '')} {address_to.get('state', '')} {address_to.get('zip', '')}",
    ]
    for i, line in enumerate(lines):
        page.drawString(0.3 * inch, (4.6 - 0.25 * i) * inch, str(line))
    page.setFont("Helvetica-Bold", 13)
    page.drawString(0.3 * inch, 1.2 * inch, f"TRACKING # {tracking_number}")
    page.showPage()
    page.save()
    return out.getvalue()


def zpl_label(*, tracking_number: str, level: ServiceLevel, address_to: dict) -> bytes:
    return (
        "^XA\n"
        f"^FO40,40^A0N,40,40^FD{level.provider} {level.name}^FS\n"
        f"^FO40,120^A0N,28,28^FD{address_to.get('name', '')}^FS\n"
        f"^FO40,160^A0N,28,28^FD{address_to.get('street1', '')}^FS\n"
        f"^FO40,600^BCN,120,Y,N,N^FD{tracking_number}^FS\n"
        "^XZ\n"
    ).encode()


def address_problems(address: dict) -> list[dict]:
    """Deterministic verification: a street needs a house number, a US ZIP five digits."""
    problems = []
    street = str(address.get("street1") or "")
    if not any(ch.isdigit() for ch in street):
        problems.append(
            {
                "source": "Shippo Address Validator",
                "code": "Unknown Street",
                "type": "address_error",
                "text": "The address as submitted could not be found. Please check the house number.",
            }
        )
    zip_code = str(address.get("zip") or "")
    if str(address.get("country") or "US").upper() == "US" and not (
        len(zip_code) >= 5 and zip_code[:5].isdigit()
    ):
        problems.append(
            {
                "source": "Shippo Address Validator",
                "code": "Invalid City/State/Zip",
                "type": "address_error",
                "text": "The ZIP code is not valid for this city and state.",
            }
        )
    return problems


class ShippoStandin:
    """The stand-in server and its state. `start()` binds 127.0.0.1 on a free port."""

    def __init__(self, api_key: str = DEFAULT_API_KEY, *, page_size: int = 25, max_page_size: int = 100):
        self.api_key = api_key
        self.page_size = page_size  # when the client does not say (`results`)
        self.max_page_size = max_page_size
        self.lock = threading.Lock()
        self.shipments: dict[str, dict] = {}
        self.rates: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}  # insertion order = purchase order
        self.label_files: dict[str, tuple[str, bytes]] = {}
        self.refunds: dict[str, dict] = {}
        self.tracks: dict[str, list[dict]] = {}
        self.calls: list[tuple[str, str]] = []
        self._serial = 0
        self._failures: list[int] = []
        self._delays: list[float] = []
        self._purchase_delays: list[float] = []
        self._refusals: list[str] = []
        self._queued = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> ShippoStandin:
        self._server = _Server(("127.0.0.1", 0), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="shippo-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes any delayed answer
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- fault switches --------------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """The next `count` requests (any path) are answered with `status` and nothing happens."""
        with self.lock:
            self._failures.extend([status] * count)

    def delay_next(self, count: int = 1, *, seconds: float = 2.0) -> None:
        """The next `count` requests wait `seconds`, then are processed as usual (a slow Shippo: what
        a client that gave up asked for may still happen, later)."""
        with self.lock:
            self._delays.extend([seconds] * count)

    def delay_next_purchase_after_recording(self, count: int = 1, *, seconds: float = 2.0) -> None:
        """The next `count` purchases are recorded (the label is bought), then answered late."""
        with self.lock:
            self._purchase_delays.extend([seconds] * count)

    def refuse_next_purchase(
        self, text: str = "The carrier could not generate a label for this shipment."
    ) -> None:
        with self.lock:
            self._refusals.append(text)

    def queue_next_purchase(self, count: int = 1) -> None:
        """The next purchases answer `QUEUED`; each becomes `SUCCESS` the first time it is read."""
        with self.lock:
            self._queued += count

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # --- tracking, for tests -----------------------------------------------------------------------

    def add_tracking_status(
        self,
        tracking_number: str,
        status: str,
        *,
        details: str = "",
        substatus: str | None = None,
        location: dict | None = None,
    ) -> dict:
        """Append a status to a parcel's history (as the carrier scanning it would); returns it."""
        entry = tracking_status(status, details=details, substatus=substatus, location=location)
        with self.lock:
            self.tracks.setdefault(tracking_number, []).append(entry)
        return entry

    def track_payload(self, tracking_number: str, carrier: str) -> dict:
        with self.lock:
            history = list(self.tracks.get(tracking_number, []))
        transaction = next(
            (t for t in self.transactions.values() if t.get("tracking_number") == tracking_number), None
        )
        return {
            "carrier": carrier,
            "tracking_number": tracking_number,
            "address_from": None,
            "address_to": None,
            "eta": None,
            "original_eta": None,
            "servicelevel": {"token": None, "name": None},
            "metadata": None,
            "messages": [],
            "transaction": transaction["object_id"] if transaction else None,
            "test": True,
            "tracking_status": history[-1] if history else tracking_status("UNKNOWN"),
            "tracking_history": history,
        }

    # --- the API -----------------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        path = "/" + parts.path.strip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.calls.append((method, path))
            failure = self._failures.pop(0) if self._failures else None
            delay = self._delays.pop(0) if self._delays else None
        if delay is not None:
            self.wait(delay)
        if failure is not None:
            body = (
                {"detail": "Too many requests."} if failure == 429 else {"detail": "Internal server error."}
            )
            headers = {"Retry-After": "1"} if failure == 429 else {}
            return _send(handler, failure, body, headers=headers)
        if path.startswith("/labels/"):
            return self._label_file(handler, path)
        if handler.headers.get("Authorization", "") != f"ShippoToken {self.api_key}":
            return _send(handler, 401, {"detail": "Invalid token."})
        body = _read_json(handler)
        if body is None:
            return _send(handler, 400, {"detail": "JSON parse error."})
        segments = path.strip("/").split("/")
        route = (method, segments[0], len(segments))
        if route == ("POST", "shipments", 1):
            return _send(handler, 201, self._create_shipment(body))
        if route == ("POST", "transactions", 1):
            return self._create_transaction(handler, body)
        if route == ("GET", "transactions", 1):
            return _send(handler, 200, self._list_transactions(query))
        if route == ("GET", "transactions", 2):
            found = self._read_transaction(segments[1])
            return _send(handler, 200, found) if found else _send(handler, 404, {"detail": "Not found."})
        if route == ("POST", "refunds", 1):
            return self._create_refund(handler, body)
        if route == ("GET", "tracks", 3):
            return _send(handler, 200, self.track_payload(segments[2], segments[1]))
        if route == ("POST", "addresses", 1):
            return _send(handler, 201, self._create_address(body))
        if route == ("GET", "carrier_accounts", 1):
            return _send(handler, 200, self._carrier_accounts())
        return _send(handler, 404, {"detail": "Not found."})

    def _create_shipment(self, body: dict) -> dict:
        shipment_id = new_id()
        parcels = body.get("parcels") or []
        oz = sum((weight_in_oz(p) for p in parcels if isinstance(p, dict)), Decimal(0))
        stamp = now_iso()
        rates = []
        for level in SERVICE_LEVELS:
            amount = f"{price(level, oz):.2f}"
            rate = {
                "object_id": new_id(),
                "object_created": stamp,
                "object_owner": OWNER,
                "shipment": shipment_id,
                "attributes": [],
                "amount": amount,
                "currency": "USD",
                "amount_local": amount,
                "currency_local": "USD",
                "provider": level.provider,
                "provider_image_75": "",
                "provider_image_200": "",
                "servicelevel": {"name": level.name, "token": level.token, "terms": ""},
                "estimated_days": level.days,
                "arrives_by": None,
                "duration_terms": f"Delivery in {level.days} business days.",
                "messages": [],
                "carrier_account": f"ca_{level.carrier_token}",
                "test": True,
                "zone": "5",
            }
            rates.append(rate)
        shipment = {
            "object_id": shipment_id,
            "object_created": stamp,
            "object_updated": stamp,
            "object_owner": OWNER,
            "status": "SUCCESS",
            "address_from": self._address_object(body.get("address_from") or {}),
            "address_to": self._address_object(body.get("address_to") or {}),
            "parcels": [self._parcel_object(p) for p in parcels if isinstance(p, dict)],
            "carrier_accounts": [],
            "metadata": body.get("metadata") or "",
            "messages": [],
            "rates": rates,
            "test": True,
        }
        with self.lock:
            self.shipments[shipment_id] = shipment
            for rate in rates:
                self.rates[rate["object_id"]] = rate
        return shipment

    def _create_transaction(self, handler, body: dict) -> None:
        rate_id = str(body.get("rate") or "")
        with self.lock:
            rate = self.rates.get(rate_id)
        if rate is None:
            return _send(handler, 400, {"rate": [f"Rate with object_id {rate_id!r} does not exist."]})
        with self.lock:
            refusal = self._refusals.pop(0) if self._refusals else None
            queued = self._queued > 0
            self._queued -= 1 if queued else 0
            late = self._purchase_delays.pop(0) if self._purchase_delays else None
            stamp = now_iso()
            transaction = {
                "object_id": new_id(),
                "object_created": stamp,
                "object_updated": stamp,
                "object_owner": OWNER,
                "object_state": "VALID",
                "status": "ERROR" if refusal else ("QUEUED" if queued else "SUCCESS"),
                "rate": rate_id,  # the id, as Shippo answers when a rate was bought by id
                "created_by": None,
                "metadata": body.get("metadata") or "",
                "label_file_type": body.get("label_file_type") or "PDF_4x6",
                "tracking_number": "",
                "tracking_status": "UNKNOWN",
                "tracking_url_provider": "",
                "label_url": "",
                "commercial_invoice_url": None,
                "eta": None,
                "messages": [],
                "parcel": None,
                "qr_code_url": None,
                "test": True,
            }
            if refusal:
                transaction["messages"] = [{"source": "USPS", "code": "", "text": refusal}]
            else:
                self._issue_label(transaction, rate)
            self.transactions[transaction["object_id"]] = transaction
            answer = dict(transaction)
            if queued:
                answer.update(tracking_number="", label_url="", tracking_url_provider="")
        if late is not None:
            self.wait(late)  # bought; the client hears about it too late
        return _send(handler, 201, answer)

    def _issue_label(self, transaction: dict, rate: dict) -> None:
        """Under self.lock: give the transaction its tracking number and label file."""
        level = next(lv for lv in SERVICE_LEVELS if lv.token == rate["servicelevel"]["token"])
        self._serial += 1
        tracking_number = tracking_number_for(level, self._serial)
        shipment = self.shipments.get(rate["shipment"], {})
        address_to = shipment.get("address_to") or {}
        zpl = transaction["label_file_type"] == "ZPLII"
        maker = zpl_label if zpl else pdf_label
        content = maker(tracking_number=tracking_number, level=level, address_to=address_to)
        name = f"{transaction['object_id']}.{'zpl' if zpl else 'pdf'}"
        self.label_files[name] = ("application/zpl" if zpl else "application/pdf", content)
        transaction.update(
            tracking_number=tracking_number,
            tracking_url_provider=tracking_url_for(level, tracking_number),
            label_url=f"{self.base_url}/labels/{name}",
            tracking_status="PRE_TRANSIT",
        )
        self.tracks.setdefault(tracking_number, []).append(
            tracking_status("PRE_TRANSIT", details="Shipping label created, USPS awaiting item.")
        )

    def _read_transaction(self, transaction_id: str) -> dict | None:
        with self.lock:
            transaction = self.transactions.get(transaction_id)
            if transaction is None:
                return None
            if transaction["status"] == "QUEUED":
                transaction["status"] = "SUCCESS"  # the carrier finished in the meantime
            return dict(transaction)

    def _list_transactions(self, query: dict) -> dict:
        page = max(1, int(query.get("page") or 1))
        size = max(1, min(int(query.get("results") or self.page_size), self.max_page_size))
        with self.lock:
            rows = [dict(t) for t in reversed(self.transactions.values())]
        if query.get("rate"):
            rows = [t for t in rows if t["rate"] == query["rate"]]
        if query.get("object_status"):
            rows = [t for t in rows if t["status"] == query["object_status"]]
        start = (page - 1) * size
        more = start + size < len(rows)
        following = {**query, "page": page + 1, "results": size}
        return {
            "next": f"{self.base_url}/transactions/?{urlencode(following)}" if more else None,
            "previous": None,
            "results": rows[start : start + size],
        }

    def _create_refund(self, handler, body: dict) -> None:
        transaction_id = str(body.get("transaction") or "")
        with self.lock:
            transaction = self.transactions.get(transaction_id)
            refundable = transaction is not None and transaction["status"] in ("SUCCESS", "QUEUED")
            stamp = now_iso()
            refund = {
                "object_id": new_id(),
                "object_created": stamp,
                "object_updated": stamp,
                "object_owner": OWNER,
                "status": "QUEUED",
                "transaction": transaction_id,
                "test": True,
            }
            if refundable:
                transaction["status"] = "REFUNDPENDING"
                self.refunds[refund["object_id"]] = refund
        if not refundable:
            message = "This transaction cannot be refunded (no label was bought, or it was refunded)."
            return _send(handler, 400, {"transaction": [message]})
        return _send(handler, 201, refund)

    def _address_object(self, given: dict | str) -> dict:
        given = given if isinstance(given, dict) else {}
        stamp = now_iso()
        fields = (
            "name",
            "company",
            "street1",
            "street2",
            "street3",
            "city",
            "state",
            "zip",
            "phone",
            "email",
        )
        return {
            **{f: str(given.get(f) or "") for f in fields},
            "country": str(given.get("country") or "US"),
            "is_residential": given.get("is_residential"),
            "is_complete": True,
            "metadata": str(given.get("metadata") or ""),
            "object_id": new_id(),
            "object_created": stamp,
            "object_updated": stamp,
            "object_owner": OWNER,
            "test": True,
        }

    def _create_address(self, body: dict) -> dict:
        address = self._address_object(body)
        if body.get("validate"):
            problems = address_problems(address)
            address["validation_results"] = {"is_valid": not problems, "messages": problems}
        return address

    def _parcel_object(self, given: dict) -> dict:
        stamp = now_iso()
        keep = ("length", "width", "height", "distance_unit", "weight", "mass_unit")
        return {
            **{k: str(given.get(k) or "") for k in keep},
            "object_id": new_id(),
            "object_created": stamp,
            "object_updated": stamp,
            "object_owner": OWNER,
            "object_state": "VALID",
            "metadata": "",
            "test": True,
        }

    def _carrier_accounts(self) -> dict:
        accounts = {}
        for level in SERVICE_LEVELS:
            accounts[level.carrier_token] = {
                "object_id": f"ca_{level.carrier_token}",
                "object_owner": OWNER,
                "account_id": "****",
                "carrier": level.carrier_token,
                "carrier_name": level.provider,
                "active": True,
                "test": True,
                "is_shippo_account": True,
                "metadata": "",
            }
        return {"next": None, "previous": None, "results": list(accounts.values())}

    def _label_file(self, handler, path: str) -> None:
        with self.lock:
            found = self.label_files.get(path.rsplit("/", 1)[-1])
        if found is None:
            return _send(handler, 404, {"detail": "Not found."})
        content_type, content = found
        return _send_bytes(handler, 200, content, content_type)


def tracking_status(
    status: str, *, details: str = "", substatus: str | None = None, location: dict | None = None
) -> dict:
    """One entry of Shippo's `tracking_status` / `tracking_history`."""
    stamp = now_iso()
    return {
        "object_id": new_id(),
        "object_created": stamp,
        "object_updated": stamp,
        "status": status,
        "status_details": details,
        "status_date": stamp,
        "substatus": (
            {"code": substatus, "text": substatus.replace("_", " "), "action_required": False}
            if substatus
            else None
        ),
        "location": location,
    }


def track_updated_event(track: dict, *, test: bool = True) -> bytes:
    """The body Shippo POSTs to a `track_updated` webhook for a Track (see ShippoStandin.track_payload)."""
    return json.dumps({"event": "track_updated", "test": test, "data": track}).encode()


def _read_json(handler) -> dict | None:
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _send(handler, status: int, payload: dict, *, headers: dict | None = None) -> None:
    _send_bytes(handler, status, json.dumps(payload).encode(), "application/json", headers=headers)


def _send_bytes(
    handler, status: int, content: bytes, content_type: str, *, headers: dict | None = None
) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(content)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(content)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a timeout test): the work is done, the answer goes nowhere


class _Handler(BaseHTTPRequestHandler):
    server_version = "ShippoStandin/1.0"

    def do_GET(self):  # noqa: N802
        self.server.standin.handle(self, "GET")

    def do_POST(self):  # noqa: N802
        self.server.standin.handle(self, "POST")

    def log_message(self, format, *args):  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, standin: ShippoStandin):
        self.standin = standin
        super().__init__(address, _Handler)
