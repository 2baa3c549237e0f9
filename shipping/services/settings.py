"""Shipping settings: carrier accounts, the account's shipping profile and its package presets.

Every change is validated here (the forms only check shapes), written in one short transaction and
audit-logged with the actor. API keys are stored encrypted (`EncryptedTextField`) and never written
to the audit log (`diff()` redacts encrypted fields). Testing a carrier connection calls the carrier
first, outside any transaction, and only then records the result.
"""

from __future__ import annotations

import logging
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from creatorflow.audit.services import audit_log, diff, snapshot
from creatorflow.core.errors import DomainError
from inventory.models import Warehouse

from ..carriers import CarrierError, carrier_for
from ..models import CarrierAccount, LabelFormat, PackagePreset, Provider, RatePolicy, ShippingProfile
from .webhook_credentials import webhook_credentials_issue

logger = logging.getLogger(__name__)

KEYED_PROVIDERS = frozenset({Provider.EASYPOST, Provider.SHIPPO})
NAME_MAX = 120
KEY_MAX = 500
PREFERENCE_MAX = 1000
SERVICES_MAX = 50
SERVICE_ENTRY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._&/-]{0,39}(:[A-Za-z0-9][A-Za-z0-9 ._&/()-]{0,79})?$")
TEST_MESSAGE_MAX = 500

CARRIER_FIELDS = ("provider", "name", "api_key", "enabled", "preference", "services_allowed")
PROFILE_FIELDS = ("rate_policy", "label_format", "ship_from", "verify_addresses")
ADDRESS_FIELDS = (
    "contact_name",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
)
PRESET_FIELDS = ("name", "length_mm", "width_mm", "height_mm", "tare_grams", "max_weight_grams")
PRESET_DIM_MAX = 3000  # mm: 3 m on a side is past any parcel carrier's limit
PRESET_WEIGHT_MAX = 70_000  # g


class ShippingSettingsInvalid(DomainError):
    code = "shipping_settings_invalid"


def _invalid(fields: dict[str, str]) -> ShippingSettingsInvalid:
    return ShippingSettingsInvalid(" ".join(fields.values()), fields=fields)


# --- carrier accounts -----------------------------------------------------------------------------


def _clean_services(value) -> list[str]:
    """A list of "CARRIER" or "CARRIER:service" entries, from a list or a comma/line separated text."""
    if value is None:
        return []
    items = re.split(r"[,\n]", value) if isinstance(value, str) else list(value)
    cleaned: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise _invalid({"services_allowed": "Each allowed service must be text."})
        entry = item.strip()
        if not entry:
            continue
        if not SERVICE_ENTRY.match(entry):
            raise _invalid(
                {
                    "services_allowed": f"“{entry[:60]}” is not a carrier or a CARRIER:service pair (e.g. USPS:Priority)."
                }
            )
        if entry not in cleaned:
            cleaned.append(entry)
    if len(cleaned) > SERVICES_MAX:
        raise _invalid({"services_allowed": f"At most {SERVICES_MAX} allowed services."})
    return cleaned


def _clean_carrier_fields(values: dict) -> dict:
    """Check a full set of carrier account values (after merging an update onto the current row)."""
    errors: dict[str, str] = {}
    provider = values.get("provider")
    if provider not in Provider.values:
        errors["provider"] = "Choose a known carrier provider (sandbox, EasyPost or Shippo)."
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the carrier account a name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"The name is at most {NAME_MAX} characters."
    api_key = (values.get("api_key") or "").strip()
    if provider in KEYED_PROVIDERS and not api_key:
        errors["api_key"] = f"{Provider(provider).label} needs an API key."
    elif len(api_key) > KEY_MAX or any(ch.isspace() for ch in api_key):
        errors["api_key"] = "This does not look like an API key."
    preference = values.get("preference", 0)
    if (
        not isinstance(preference, int)
        or isinstance(preference, bool)
        or not 0 <= preference <= PREFERENCE_MAX
    ):
        errors["preference"] = f"The preference is a whole number from 0 to {PREFERENCE_MAX}."
    if errors:
        raise _invalid(errors)
    return {
        "provider": provider,
        "name": name,
        "api_key": api_key if provider in KEYED_PROVIDERS else "",
        "enabled": bool(values.get("enabled", True)),
        "preference": preference,
        "services_allowed": _clean_services(values.get("services_allowed")),
    }


def carrier_account_create(
    *,
    account,
    actor,
    provider: str,
    name: str,
    api_key: str = "",
    enabled: bool = True,
    preference: int = 0,
    services_allowed=None,
) -> CarrierAccount:
    """Add a way to buy labels. EasyPost and Shippo need an API key (stored encrypted); the sandbox
    needs none and keeps none."""
    values = _clean_carrier_fields(
        {
            "provider": provider,
            "name": name,
            "api_key": api_key,
            "enabled": enabled,
            "preference": preference,
            "services_allowed": services_allowed,
        }
    )
    with transaction.atomic():
        carrier_account = CarrierAccount.objects.create(account=account, **values)
        audit_log(
            actor=actor,
            action="carrier_account.create",
            target=carrier_account,
            changes=diff({}, carrier_account, CARRIER_FIELDS),
        )
        if carrier_account.provider == Provider.SANDBOX:
            # The built-in carrier's webhooks are set up on both sides at once: nothing to copy.
            webhook_credentials_issue(carrier_account=carrier_account, actor=actor)
    return carrier_account


def carrier_account_update(*, carrier_account: CarrierAccount, actor, **fields) -> CarrierAccount:
    """Change any of CARRIER_FIELDS. An empty or missing `api_key` keeps the stored key; a new
    provider that needs a key must bring one (or already have one). Unknown fields are refused."""
    unknown = set(fields) - set(CARRIER_FIELDS)
    if unknown:
        raise TypeError(f"carrier_account_update() got unknown fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = CarrierAccount.objects.select_for_update().get(pk=carrier_account.pk)
        before = snapshot(locked, CARRIER_FIELDS)
        merged = {**before, **fields}
        if not (fields.get("api_key") or "").strip():
            merged["api_key"] = before["api_key"]
        values = _clean_carrier_fields(merged)
        for name, value in values.items():
            setattr(locked, name, value)
        changes = diff(before, locked, CARRIER_FIELDS)
        if changes:
            locked.save(update_fields=list(changes))
            audit_log(actor=actor, action="carrier_account.update", target=locked, changes=changes)
    return locked


def carrier_account_delete(*, carrier_account: CarrierAccount, actor) -> None:
    """Remove a carrier account. Its shipments stay (their `carrier_account` becomes empty)."""
    with transaction.atomic():
        audit_log(
            actor=actor,
            action="carrier_account.delete",
            target=carrier_account,
            changes=diff(carrier_account, {}, CARRIER_FIELDS),
        )
        CarrierAccount.objects.filter(pk=carrier_account.pk).delete()


def carrier_account_test(*, carrier_account: CarrierAccount, actor) -> tuple[bool, str]:
    """Make the carrier's cheapest authenticated call and record the outcome on the row.

    Must be called outside any transaction: the carrier call is a network request. The result is
    written afterwards with one UPDATE (`last_test_at/ok/message`). A `CarrierError` is a failed
    test with the carrier's message, never an exception; anything else unexpected is logged and
    reported as a failure too, so the settings page always has an answer to show.
    """
    try:
        message = carrier_for(carrier_account).test_connection()
        ok = True
    except CarrierError as exc:
        ok, message = False, exc.message or str(exc)
    except Exception as exc:  # a carrier library raising outside its adapter: still an answer
        logger.exception("carrier connection test of %s failed unexpectedly", carrier_account.pk)
        ok, message = False, f"The test failed unexpectedly ({type(exc).__name__})."
    message = (str(message or ("Connected." if ok else "The test failed."))).strip()[:TEST_MESSAGE_MAX]
    now = timezone.now()
    CarrierAccount.objects.filter(pk=carrier_account.pk).update(
        last_test_at=now, last_test_ok=ok, last_test_message=message
    )
    carrier_account.last_test_at, carrier_account.last_test_ok = now, ok
    carrier_account.last_test_message = message
    return ok, message


# --- the shipping profile -------------------------------------------------------------------------


def shipping_profile_get(*, account) -> ShippingProfile:
    """The account's profile, created with the defaults (and the default warehouse) on first use."""
    profile = ShippingProfile.objects.filter(account=account).select_related("ship_from").first()
    if profile is not None:
        return profile
    default = Warehouse.objects.filter(account=account).order_by("-is_default", "name").first()
    try:
        with transaction.atomic():
            return ShippingProfile.objects.create(account=account, ship_from=default)
    except IntegrityError:  # created by a concurrent request
        return ShippingProfile.objects.select_related("ship_from").get(account=account)


def _clean_address(address: dict) -> dict:
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for name in ADDRESS_FIELDS:
        value = address.get(name)
        if value is None:
            continue
        value = str(value).strip()
        max_length = Warehouse._meta.get_field(name).max_length
        if len(value) > max_length:
            errors[name] = f"At most {max_length} characters."
        cleaned[name] = value
    if "country" in cleaned:
        cleaned["country"] = cleaned["country"].upper()
        if not re.fullmatch(r"[A-Z]{2}", cleaned["country"]):
            errors["country"] = "Use the two-letter country code (e.g. US)."
    if errors:
        raise _invalid(errors)
    return cleaned


def shipping_profile_update(
    *,
    account,
    actor,
    rate_policy: str | None = None,
    label_format: str | None = None,
    ship_from=None,
    verify_addresses: bool | None = None,
    ship_from_address: dict | None = None,
) -> ShippingProfile:
    """Change the profile; arguments left as None keep their value (`ship_from=""` clears it).

    `ship_from` is a `Warehouse` (or its id) of this account. `ship_from_address` changes that
    warehouse's address fields (contact name, phone, lines, city, state, postal code, country):
    the ship-from address printed on labels is the warehouse's own.
    """
    errors: dict[str, str] = {}
    if rate_policy is not None and rate_policy not in RatePolicy.values:
        errors["rate_policy"] = "Choose a rate policy."
    if label_format is not None and label_format not in LabelFormat.values:
        errors["label_format"] = "Choose a label format."
    warehouse = None
    if ship_from not in (None, ""):
        warehouse_id = ship_from.pk if isinstance(ship_from, Warehouse) else ship_from
        try:
            warehouse = Warehouse.objects.filter(account=account, pk=warehouse_id).first()
        except (ValidationError, ValueError, TypeError):  # a malformed id
            warehouse = None
        if warehouse is None:
            errors["ship_from"] = "Choose one of your warehouses."
    if errors:
        raise _invalid(errors)
    address = _clean_address(ship_from_address) if ship_from_address else {}

    shipping_profile_get(account=account)
    with transaction.atomic():
        profile = ShippingProfile.objects.select_for_update().get(account=account)
        before = snapshot(profile, PROFILE_FIELDS)
        if rate_policy is not None:
            profile.rate_policy = rate_policy
        if label_format is not None:
            profile.label_format = label_format
        if verify_addresses is not None:
            profile.verify_addresses = bool(verify_addresses)
        if ship_from == "":
            profile.ship_from = None
        elif warehouse is not None:
            profile.ship_from = warehouse
        changes = diff(before, profile, PROFILE_FIELDS)
        if changes:
            profile.save()
            audit_log(
                actor=actor,
                action="shipping_profile.update",
                target=profile,
                account=account,
                changes=changes,
            )
        if address and profile.ship_from_id:
            place = Warehouse.objects.select_for_update().get(pk=profile.ship_from_id)
            place_before = snapshot(place, ADDRESS_FIELDS)
            for name, value in address.items():
                setattr(place, name, value)
            place_changes = diff(place_before, place, ADDRESS_FIELDS)
            if place_changes:
                place.save(update_fields=list(place_changes))
                audit_log(actor=actor, action="warehouse.address_update", target=place, changes=place_changes)
    return ShippingProfile.objects.select_related("ship_from").get(pk=profile.pk)


# --- package presets ------------------------------------------------------------------------------


def _clean_preset_fields(values: dict) -> dict:
    errors: dict[str, str] = {}
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the package a name."
    elif len(name) > PackagePreset._meta.get_field("name").max_length:
        errors["name"] = "The name is at most 60 characters."
    cleaned: dict = {"name": name}
    for field, label in (("length_mm", "Length"), ("width_mm", "Width"), ("height_mm", "Height")):
        value = values.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= PRESET_DIM_MAX:
            errors[field] = f"{label} is a whole number of millimetres from 1 to {PRESET_DIM_MAX}."
        cleaned[field] = value
    for field, label in (("tare_grams", "The empty weight"), ("max_weight_grams", "The maximum weight")):
        value = values.get(field, 0)
        if value is None:
            value = 0
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= PRESET_WEIGHT_MAX:
            errors[field] = f"{label} is a whole number of grams from 0 to {PRESET_WEIGHT_MAX}."
        cleaned[field] = value
    if (
        "tare_grams" not in errors
        and "max_weight_grams" not in errors
        and cleaned["max_weight_grams"]
        and cleaned["max_weight_grams"] <= cleaned["tare_grams"]
    ):
        errors["max_weight_grams"] = (
            "The maximum weight must be more than the empty box weighs (or 0: no limit)."
        )
    if errors:
        raise _invalid(errors)
    return cleaned


def _duplicate_name(name: str) -> ShippingSettingsInvalid:
    return _invalid({"name": f"You already have a package called “{name}”."})


def _name_taken(*, account, name: str, exclude_pk=None) -> bool:
    others = PackagePreset.objects.filter(account=account, name__iexact=name)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    return others.exists()


def package_preset_create(
    *,
    account,
    actor,
    name: str,
    length_mm: int,
    width_mm: int,
    height_mm: int,
    tare_grams: int = 0,
    max_weight_grams: int = 0,
) -> PackagePreset:
    """Add a box or mailer (inside dimensions in mm; weights in g; max 0 means no limit).
    Names are unique per account, ignoring case."""
    values = _clean_preset_fields(
        {
            "name": name,
            "length_mm": length_mm,
            "width_mm": width_mm,
            "height_mm": height_mm,
            "tare_grams": tare_grams,
            "max_weight_grams": max_weight_grams,
        }
    )
    if _name_taken(account=account, name=values["name"]):
        raise _duplicate_name(values["name"])
    try:
        with transaction.atomic():
            preset = PackagePreset.objects.create(account=account, **values)
            audit_log(
                actor=actor,
                action="package_preset.create",
                target=preset,
                changes=diff({}, preset, PRESET_FIELDS),
            )
    except IntegrityError as exc:  # the same name added concurrently
        raise _duplicate_name(values["name"]) from exc
    return preset


def package_preset_update(*, preset: PackagePreset, actor, **fields) -> PackagePreset:
    """Change any of PRESET_FIELDS; the whole preset is re-validated."""
    unknown = set(fields) - set(PRESET_FIELDS)
    if unknown:
        raise TypeError(f"package_preset_update() got unknown fields: {', '.join(sorted(unknown))}")
    try:
        with transaction.atomic():
            locked = PackagePreset.objects.select_for_update().get(pk=preset.pk)
            before = snapshot(locked, PRESET_FIELDS)
            values = _clean_preset_fields({**before, **fields})
            if _name_taken(account=locked.account_id, name=values["name"], exclude_pk=locked.pk):
                raise _duplicate_name(values["name"])
            for name, value in values.items():
                setattr(locked, name, value)
            changes = diff(before, locked, PRESET_FIELDS)
            if changes:
                locked.save(update_fields=list(changes))
                audit_log(actor=actor, action="package_preset.update", target=locked, changes=changes)
    except IntegrityError as exc:
        raise _duplicate_name(fields.get("name", preset.name)) from exc
    return locked


def package_preset_delete(*, preset: PackagePreset, actor) -> None:
    with transaction.atomic():
        audit_log(
            actor=actor,
            action="package_preset.delete",
            target=preset,
            changes={name: [value, None] for name, value in snapshot(preset, PRESET_FIELDS).items()},
        )
        PackagePreset.objects.filter(pk=preset.pk).delete()
