"""The one interface every carrier implements, and the plain values that cross it.

A carrier is built for one `CarrierAccount` (`shipping.carriers.carrier_for`). Sizes are millimetres
and grams, money is Decimal, times are UTC-aware. Every method may raise `CarrierError`; an error that
may go away on its own (5xx, 429, a connection failure) has `retryable=True`, a timeout is a
`CarrierTimeout` (after which a purchase's outcome is unknown and must be reconciled with
`find_label` before anything is bought again). Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol


def utc_time(value) -> datetime | None:
    """An ISO 8601 time from a carrier's body as a UTC-aware datetime (one without an offset is
    taken as UTC), or None for anything else: a non-string, an unreadable string, or a date so near
    year 1 or 9999 that it cannot be moved to UTC. Carrier bodies are outside input; never raises."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


class CarrierError(Exception):
    def __init__(self, message: str, *, retryable: bool = False, code: str = "", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.status = status


class CarrierTimeout(CarrierError):
    """No answer in time: the request may or may not have taken effect."""

    def __init__(self, message: str = "the carrier did not answer in time"):
        super().__init__(message, retryable=True, code="timeout")


@dataclass(frozen=True)
class Address:
    name: str
    street1: str
    city: str
    state: str
    postal_code: str
    country: str
    street2: str = ""
    company: str = ""
    phone: str = ""
    email: str = ""

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class AddressCheck:
    ok: bool
    problems: tuple[str, ...] = ()
    suggested: Address | None = None


@dataclass(frozen=True)
class Parcel:
    length_mm: int
    width_mm: int
    height_mm: int
    weight_grams: int

    @property
    def weight_oz(self) -> Decimal:
        return (Decimal(self.weight_grams) / Decimal("28.349523125")).quantize(Decimal("0.1"))

    @property
    def inches(self) -> tuple[Decimal, Decimal, Decimal]:
        return tuple(  # type: ignore[return-value]
            (Decimal(v) / Decimal("25.4")).quantize(Decimal("0.1"))
            for v in (self.length_mm, self.width_mm, self.height_mm)
        )


@dataclass(frozen=True)
class Rate:
    carrier: str  # USPS, UPS, FedEx, DHL eCommerce...
    service: str  # the carrier's service name, e.g. "Priority", "Ground"
    amount: Decimal
    currency: str
    est_days: int | None  # business days in transit, when the carrier says
    rate_id: str  # the provider's id for this rate ("" for the sandbox)
    provider_shipment_id: str = ""  # EasyPost shipment id / Shippo shipment object_id
    delivery_date: date | None = None


@dataclass(frozen=True)
class Label:
    tracking_number: str
    carrier: str
    service: str
    amount: Decimal
    currency: str
    label_format: str  # "pdf" or "zpl"
    label_bytes: bytes = b""
    label_url: str = ""  # where the provider keeps the file, when it gives a URL instead of bytes
    tracking_url: str = ""
    provider_shipment_id: str = ""
    provider_label_id: str = ""  # EasyPost postage label / Shippo transaction object_id


@dataclass(frozen=True)
class TrackingUpdate:
    """One tracking status from a webhook or a track call, in our vocabulary:
    pre_transit, in_transit, out_for_delivery, delivered, returned, exception."""

    tracking_number: str
    status: str
    occurred_at: datetime
    message: str = ""
    location: str = ""
    event_id: str = ""
    carrier: str = ""
    raw_status: str = ""
    extra: dict = field(default_factory=dict)


TRACKING_STATUSES = ("pre_transit", "in_transit", "out_for_delivery", "delivered", "returned", "exception")


@dataclass(frozen=True)
class BuyRequest:
    """What `buy` needs: the rate chosen from `rates`, and the key stored before the call."""

    rate: Rate
    idempotency_key: str
    label_format: str
    from_address: Address
    to_address: Address
    parcel: Parcel
    reference: str  # our order reference, printed on the label where the carrier allows


class Carrier(Protocol):
    provider: str

    def rates(
        self, *, from_address: Address, to_address: Address, parcel: Parcel, reference: str
    ) -> list[Rate]:
        """Every rate the account can buy for this parcel (possibly several carriers)."""

    def buy(self, request: BuyRequest) -> Label:
        """Buy the label for `request.rate`. Raises CarrierTimeout when the outcome is unknown."""

    def find_label(self, request: BuyRequest) -> Label | None:
        """After a timeout or a crash: the label an earlier `buy` with this request bought, if any."""

    def void(self, *, label_id: str, shipment_id: str, tracking_number: str) -> bool:
        """Ask for a refund of an unused label; True when the carrier accepted."""

    def track(self, *, tracking_number: str, carrier: str) -> list[TrackingUpdate]:
        """The tracking history the carrier has now."""

    def verify_address(self, address: Address) -> AddressCheck:
        """The carrier's own verification; carriers without one answer ok."""

    def test_connection(self) -> str:
        """A cheap authenticated call; returns a short description or raises CarrierError."""
