"""Everything a label needs, read from the order and the account's settings, checked before any
carrier is asked: the ship-from and ship-to addresses and the parcel.

`shipment_inputs(order)` returns `ShipmentInputs` with `problems` naming what is missing or wrong in
words a creator can act on; the purchase service shows them on the order instead of buying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inventory.models import Warehouse

from ..carriers.base import Address, Parcel
from ..models import PackagePreset, ShippingProfile

POSTAL_CODE_FORMATS = {
    "US": (re.compile(r"^\d{5}(-\d{4})?$"), "5 digits, or ZIP+4 (12345-6789)"),
    "CA": (re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$", re.I), "A1A 1A1"),
    "GB": (re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$", re.I), "e.g. SW1A 1AA"),
    "MX": (re.compile(r"^\d{5}$"), "5 digits"),
    "DE": (re.compile(r"^\d{5}$"), "5 digits"),
    "FR": (re.compile(r"^\d{5}$"), "5 digits"),
}
US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
    "connecticut": "CT", "delaware": "DE", "district of columbia": "DC", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS",
    "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD", "massachusetts": "MA",
    "michigan": "MI", "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM",
    "new york": "NY", "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
}  # fmt: skip
DEFAULT_BOX_MM = (229, 152, 51)  # 9 x 6 x 2 in: a padded mailer, when nothing better is known
MIN_WEIGHT_GRAMS = 28  # one ounce: carriers refuse a zero-weight parcel


@dataclass(frozen=True)
class ShipmentInputs:
    from_address: Address | None
    to_address: Address | None
    parcel: Parcel | None
    preset_name: str = ""
    problems: tuple[str, ...] = ()


def address_problems(address: Address, *, who: str) -> list[str]:
    missing = [
        label
        for label, value in (
            ("name", address.name),
            ("street", address.street1),
            ("city", address.city),
            ("postal code", address.postal_code),
            ("country", address.country),
        )
        if not value.strip()
    ]
    if address.country == "US" and not address.state.strip():
        missing.append("state")
    problems = [f"{who} address is missing its {', '.join(missing)}."] if missing else []
    rule = POSTAL_CODE_FORMATS.get(address.country.upper())
    if address.postal_code.strip() and rule and not rule[0].match(address.postal_code.strip()):
        problems.append(
            f"{who} postal code {address.postal_code!r} is not a valid {address.country} postal code ({rule[1]})."
        )
    return problems


def state_code(country: str, state: str) -> str:
    if country == "US" and len(state) > 2:
        return US_STATES.get(state.strip().lower(), state)
    return state


def _district(recipient: dict, level: str) -> str:
    for entry in recipient.get("district_info") or []:
        if isinstance(entry, dict) and entry.get("address_level") == level:
            return str(entry.get("address_name") or "")
    return ""


def recipient_address(order) -> Address:
    r = order.recipient or {}
    country = (order.country or str(r.get("region_code") or "")).upper()[:2]
    city = _district(r, "L3") or _district(r, "L2")
    extra_lines = [str(r.get(f"address_line{i}") or "") for i in (2, 3, 4)]
    return Address(
        name=order.recipient_name or str(r.get("name") or ""),
        street1=str(r.get("address_line1") or r.get("address_detail") or ""),
        street2=" ".join(x for x in extra_lines if x),
        city=city,
        state=state_code(country, order.state or _district(r, "L1")),
        postal_code=order.postal_code or str(r.get("postal_code") or ""),
        country=country,
        phone=str(r.get("phone_number") or ""),
        email=order.buyer_email,
    )


def ship_from_warehouse(account, *, profile=None) -> Warehouse | None:
    """The profile's ship-from warehouse, else the account's default (or first) warehouse."""
    if profile is None:
        profile = ShippingProfile.objects.filter(account=account).first()
    if profile and profile.ship_from_id:
        return Warehouse.objects.filter(pk=profile.ship_from_id).first()
    return Warehouse.objects.filter(account=account).order_by("-is_default", "name").first()


def warehouse_address(warehouse: Warehouse, *, company: str = "") -> Address:
    return Address(
        name=warehouse.contact_name or warehouse.name,
        company=company[:100],
        street1=warehouse.address_line1,
        street2=warehouse.address_line2,
        city=warehouse.city,
        state=state_code(warehouse.country, warehouse.state),
        postal_code=warehouse.postal_code,
        country=(warehouse.country or "US").upper(),
        phone=warehouse.phone,
    )


def _fits(preset: PackagePreset, *, dims: list[tuple[int, int, int]], volume: int, weight: int) -> bool:
    if preset.max_weight_grams and weight + preset.tare_grams > preset.max_weight_grams:
        return False
    box = sorted((preset.length_mm, preset.width_mm, preset.height_mm), reverse=True)
    for item in dims:
        if any(a > b for a, b in zip(sorted(item, reverse=True), box, strict=True)):
            return False
    return volume <= preset.volume


def parcel_for(order, *, items=None) -> tuple[Parcel, str]:
    """The parcel from the items' weights and sizes, in the order's rule-chosen preset or the
    smallest preset that fits; with no preset, a box around the items (or a padded mailer)."""
    items = list(order.items.select_related("sku")) if items is None else items
    weight = 0
    volume = 0
    dims: list[tuple[int, int, int]] = []
    for item in items:
        sku = item.sku
        if sku is None:
            continue
        weight += sku.weight_grams * item.quantity
        if sku.length_mm and sku.width_mm and sku.height_mm:
            dims.extend([(sku.length_mm, sku.width_mm, sku.height_mm)] * item.quantity)
            volume += sku.length_mm * sku.width_mm * sku.height_mm * item.quantity
    presets = list(PackagePreset.objects.filter(account_id=order.account_id))
    chosen = None
    if order.package_preset:
        chosen = next((p for p in presets if p.name.lower() == order.package_preset.lower()), None)
    if chosen is None:
        fitting = [p for p in presets if _fits(p, dims=dims, volume=volume, weight=weight)]
        chosen = min(fitting, key=lambda p: (p.volume, p.name), default=None)
    if chosen is not None:
        parcel = Parcel(chosen.length_mm, chosen.width_mm, chosen.height_mm, weight + chosen.tare_grams)
        return _at_least_an_ounce(parcel), chosen.name
    if dims:
        length = max(max(d) for d in dims)
        width = max(sorted(d)[1] for d in dims)
        height = sum(min(d) for d in dims)
        return _at_least_an_ounce(Parcel(length, width, height, weight)), ""
    return _at_least_an_ounce(Parcel(*DEFAULT_BOX_MM, weight)), ""


def _at_least_an_ounce(parcel: Parcel) -> Parcel:
    if parcel.weight_grams >= MIN_WEIGHT_GRAMS:
        return parcel
    return Parcel(parcel.length_mm, parcel.width_mm, parcel.height_mm, MIN_WEIGHT_GRAMS)


def shipment_inputs(order, *, profile=None) -> ShipmentInputs:
    """`profile`: the account's ShippingProfile when the caller has it (None: read it here)."""
    problems: list[str] = []
    warehouse = ship_from_warehouse(order.account, profile=profile)
    from_address = warehouse_address(warehouse, company=order.account.name) if warehouse else None
    if from_address is None:
        problems.append("No ship-from address: add a warehouse with its address in Shipping settings.")
    else:
        problems += address_problems(from_address, who="The ship-from")
    to_address = recipient_address(order)
    problems += address_problems(to_address, who="The buyer's")
    items = list(order.items.select_related("sku"))
    if not items:
        problems.append("The order has no items to ship.")
    parcel, preset = parcel_for(order, items=items)
    return ShipmentInputs(from_address, to_address, parcel, preset, tuple(problems))
