"""Shipping pages: the shipments list, the settings page (carrier accounts, profile, package
presets), and the label and packing slip downloads.

Small function views (STYLE 11). Reads go through `shipping.selectors` with `request.account`;
writes through `shipping.services.settings`, whose `DomainError`s come back as form errors. Anyone
in the account may look; the profile and presets need the member role, carrier accounts (API keys,
money) the admin role. Objects are looked up in the request's account only: a foreign id is a 404.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.facade import account_required, get_for_account_or_404, role_required
from creatorflow.core.errors import DomainError
from orders.models import Order

from . import selectors
from .forms import CarrierAccountForm, PackagePresetForm, ShippingProfileForm, apply_errors
from .models import CarrierAccount, LabelFormat, PackagePreset, Provider, Shipment, ShipmentStatus
from .services import settings as settings_services
from .services.webhook_credentials import webhook_credentials_issue

PAGE_SIZE = 25
EDIT_ROLE = "member"
CARRIER_ROLE = "admin"


def _query(**params) -> str:
    return "?" + urlencode({key: value for key, value in params.items() if value not in ("", None)})


# --- the shipments list ---------------------------------------------------------------------------


def _list_context(request) -> dict:
    status = request.GET.get("status", "")
    if status not in ShipmentStatus.values:
        status = ""
    carrier = request.GET.get("carrier", "").strip()[:40]
    search = request.GET.get("q", "").strip()[: selectors.SEARCH_MAX]
    queryset = selectors.shipments_for_account(
        account=request.account, status=status or None, carrier=carrier or None, search=search or None
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = bool(status or carrier or search)
    return {
        "page": page,
        "shipments": list(page.object_list),
        "status": status,
        "carrier": carrier,
        "search": search,
        "statuses": ShipmentStatus.choices,
        "carriers": selectors.shipment_carriers(account=request.account),
        "page_query": _query(status=status, carrier=carrier, q=search),
        "filtered": filtered,
        "has_carrier_account": filtered or selectors.has_carrier_account(account=request.account),
        "list_url": reverse("shipping:index"),
    }


@require_GET
@account_required
def shipment_list(request):
    context = _list_context(request)
    if request.htmx and not request.htmx.boosted:
        return render(request, "shipping/list.html#rows", context)
    return render(request, "shipping/list.html", context)


# --- downloads ------------------------------------------------------------------------------------


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", text)[:64]


@require_GET
@account_required
def shipment_label(request, shipment_id):
    """The stored label: a PDF opens in the browser, a ZPL file downloads as text."""
    shipment = get_for_account_or_404(Shipment, request.account, pk=shipment_id)
    if not shipment.label_file:
        raise Http404("This shipment has no label.")
    try:
        handle = shipment.label_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The label file is missing.") from exc
    zpl = shipment.label_format == LabelFormat.ZPL
    name = f"label-{_safe_name(shipment.tracking_number) or shipment.pk}.{'zpl' if zpl else 'pdf'}"
    return FileResponse(
        handle,
        content_type="text/plain; charset=utf-8" if zpl else "application/pdf",
        as_attachment=zpl,
        filename=name,
    )


@require_GET
@account_required
def packing_slip(request, order_id):
    """The order's packing slip (items, quantities, buyer note, order barcode) as a PDF."""
    from .documents.builders import packing_slip_for_order

    order = get_for_account_or_404(Order, request.account, pk=order_id)
    pdf = packing_slip_for_order(order)
    response = HttpResponse(bytes(pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="packing-slip-{_safe_name(order.tiktok_order_id) or order.pk}.pdf"'
    )
    return response


# --- settings -------------------------------------------------------------------------------------


WEBHOOK_URL_NAMES = {
    Provider.EASYPOST: "easypost-webhook",
    Provider.SHIPPO: "shippo-webhook",
    Provider.SANDBOX: "sandbox-carrier-webhook",
}


def _carrier_rows(request) -> list[dict]:
    return [
        {
            "ca": carrier_account,
            "takes_webhooks": carrier_account.provider in (Provider.EASYPOST, Provider.SHIPPO),
        }
        for carrier_account in selectors.carrier_accounts_for_account(account=request.account)
    ]


def _credentials_page(request, carrier_account: CarrierAccount, credentials, *, new: bool):
    """The carrier account's webhook URL (and secret) as issued: shown this once, never stored in
    the clear, so the page says to copy them now. Not cached anywhere (no-store)."""
    base = request.build_absolute_uri(reverse(WEBHOOK_URL_NAMES[carrier_account.provider]))
    response = render(
        request,
        "shipping/webhook_credentials.html",
        {
            "ca": carrier_account,
            "new": new,
            "webhook_url": f"{base}?{urlencode({'token': credentials.token})}",
            "secret": credentials.secret,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _settings_context(request, *, profile_form: ShippingProfileForm | None = None) -> dict:
    account = request.account
    profile = settings_services.shipping_profile_get(account=account)
    if profile_form is None:
        profile_form = ShippingProfileForm(
            profile=profile, warehouses=selectors.warehouses_for_account(account=account)
        )
    can_edit = request.membership.has_role(EDIT_ROLE)
    if not can_edit:
        for field in profile_form.fields.values():
            field.disabled = True
    return {
        "carrier_rows": _carrier_rows(request),
        "profile": profile,
        "profile_form": profile_form,
        "presets": list(selectors.package_presets_for_account(account=account)),
        "can_edit": can_edit,
        "can_manage_carriers": request.membership.has_role(CARRIER_ROLE),
    }


@require_GET
@account_required
def settings_page(request):
    return render(request, "shipping/settings.html", _settings_context(request))


def _to_settings(anchor: str = ""):
    return redirect(reverse("shipping:settings") + (f"#{anchor}" if anchor else ""))


@require_POST
@role_required(EDIT_ROLE)
def profile_update(request):
    account = request.account
    profile = settings_services.shipping_profile_get(account=account)
    form = ShippingProfileForm(
        request.POST, profile=profile, warehouses=selectors.warehouses_for_account(account=account)
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            settings_services.shipping_profile_update(
                account=account,
                actor=request.user,
                rate_policy=data["rate_policy"],
                label_format=data["label_format"],
                ship_from=data["ship_from"],
                verify_addresses=data["verify_addresses"],
                ship_from_address=form.address() if data["ship_from"] else None,
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Shipping settings saved.")
            return _to_settings("profile")
    return render(request, "shipping/settings.html", _settings_context(request, profile_form=form))


# --- carrier accounts -----------------------------------------------------------------------------


def _carrier_or_404(request, carrier_account_id) -> CarrierAccount:
    return get_for_account_or_404(CarrierAccount, request.account, pk=carrier_account_id)


def _carrier_fields(form: CarrierAccountForm) -> dict:
    data = form.cleaned_data
    return {
        "provider": data["provider"],
        "name": data["name"],
        "api_key": data.get("api_key", ""),
        "enabled": data["enabled"],
        "preference": data["preference"],
        "services_allowed": data["services_allowed"],
    }


@require_http_methods(["GET", "POST"])
@role_required(CARRIER_ROLE)
def carrier_new(request):
    form = CarrierAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            carrier_account = settings_services.carrier_account_create(
                account=request.account, actor=request.user, **_carrier_fields(form)
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Added {carrier_account.name}. Test its connection below.")
            if carrier_account.provider in (Provider.EASYPOST, Provider.SHIPPO):
                credentials = webhook_credentials_issue(carrier_account=carrier_account, actor=request.user)
                return _credentials_page(request, carrier_account, credentials, new=True)
            return _to_settings("carriers")
    return render(request, "shipping/carrier_form.html", {"form": form, "carrier_account": None})


@require_POST
@role_required(CARRIER_ROLE)
def carrier_webhook_regenerate(request, carrier_account_id):
    """A new webhook URL (and secret): the old ones stop working at once."""
    carrier_account = _carrier_or_404(request, carrier_account_id)
    if carrier_account.provider not in (Provider.EASYPOST, Provider.SHIPPO):
        messages.error(request, f"{carrier_account.name} sends no tracking webhooks to set up.")
        return _to_settings("carriers")
    credentials = webhook_credentials_issue(carrier_account=carrier_account, actor=request.user)
    return _credentials_page(request, carrier_account, credentials, new=False)


@require_http_methods(["GET", "POST"])
@role_required(CARRIER_ROLE)
def carrier_edit(request, carrier_account_id):
    carrier_account = _carrier_or_404(request, carrier_account_id)
    form = CarrierAccountForm(request.POST or None, carrier_account=carrier_account)
    if request.method == "POST" and form.is_valid():
        try:
            carrier_account = settings_services.carrier_account_update(
                carrier_account=carrier_account, actor=request.user, **_carrier_fields(form)
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Saved {carrier_account.name}.")
            return _to_settings("carriers")
    return render(request, "shipping/carrier_form.html", {"form": form, "carrier_account": carrier_account})


@require_POST
@role_required(CARRIER_ROLE)
def carrier_toggle(request, carrier_account_id):
    carrier_account = _carrier_or_404(request, carrier_account_id)
    try:
        carrier_account = settings_services.carrier_account_update(
            carrier_account=carrier_account, actor=request.user, enabled=not carrier_account.enabled
        )
    except DomainError as exc:
        messages.error(request, f"{carrier_account.name}: {exc.message} Edit it first.")
        return _to_settings("carriers")
    state = "enabled" if carrier_account.enabled else "disabled"
    messages.success(request, f"{carrier_account.name} is {state}.")
    return _to_settings("carriers")


@require_POST
@role_required(CARRIER_ROLE)
def carrier_delete(request, carrier_account_id):
    carrier_account = _carrier_or_404(request, carrier_account_id)
    settings_services.carrier_account_delete(carrier_account=carrier_account, actor=request.user)
    messages.success(request, f"Removed {carrier_account.name}.")
    return _to_settings("carriers")


@require_POST
@role_required(CARRIER_ROLE)
def carrier_test(request, carrier_account_id):
    """Call the carrier now (outside any transaction) and show the answer in place."""
    carrier_account = _carrier_or_404(request, carrier_account_id)
    ok, message = settings_services.carrier_account_test(carrier_account=carrier_account, actor=request.user)
    if request.htmx:
        return render(
            request,
            "shipping/settings.html#carrier-test",
            {"ca": carrier_account, "fresh": True, "can_manage_carriers": True},
        )
    if ok:
        messages.success(request, f"{carrier_account.name}: connected. {message}")
    else:
        messages.error(request, f"{carrier_account.name}: the test failed. {message}")
    return _to_settings("carriers")


# --- package presets ------------------------------------------------------------------------------


def _preset_or_404(request, preset_id) -> PackagePreset:
    return get_for_account_or_404(PackagePreset, request.account, pk=preset_id)


@require_http_methods(["GET", "POST"])
@role_required(EDIT_ROLE)
def preset_new(request):
    form = PackagePresetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            preset = settings_services.package_preset_create(
                account=request.account, actor=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Added package {preset.name}.")
            return _to_settings("presets")
    return render(request, "shipping/preset_form.html", {"form": form, "preset": None})


@require_http_methods(["GET", "POST"])
@role_required(EDIT_ROLE)
def preset_edit(request, preset_id):
    preset = _preset_or_404(request, preset_id)
    form = PackagePresetForm.for_preset(preset, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            preset = settings_services.package_preset_update(
                preset=preset, actor=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Saved package {preset.name}.")
            return _to_settings("presets")
    return render(request, "shipping/preset_form.html", {"form": form, "preset": preset})


@require_POST
@role_required(EDIT_ROLE)
def preset_delete(request, preset_id):
    preset = _preset_or_404(request, preset_id)
    settings_services.package_preset_delete(preset=preset, actor=request.user)
    messages.success(request, f"Removed package {preset.name}.")
    return _to_settings("presets")
