"""Dashboard pages for stock as CSV: export, and import as upload -> preview -> Apply.

The parsed upload is kept server-side in the cache under a random token for an hour, bound to the
account it was uploaded in; the preview page and the Apply button refer to it by that token. So
nothing the browser sends back is trusted (no rows in a hidden field), the preview always shows
the stock as it is now, and a token of another account (or an expired one) is a plain 404.
Views are thin: parsing, checking and applying live in `inventory.csv_io`.
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.facade import account_required, role_required

from .csv_io import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    CsvFileInvalid,
    ImportRejected,
    export_response,
    import_preview,
    parse_counts_csv,
    rows_from_payload,
    rows_to_payload,
    stock_import_counts,
)

IMPORT_ROLE = "member"
PREVIEW_TTL_SECONDS = 3600
_CACHE_PREFIX = "inventory:csv_import:"


class CountsUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "Columns seller_sku, on_hand and optionally warehouse (a code; empty means the default "
            f"warehouse). At most {MAX_IMPORT_ROWS:,} rows."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return upload


def _can_import(request) -> bool:
    return request.membership.has_role(IMPORT_ROLE)


def _index(request, form=None, status=200):
    context = {"form": form or CountsUploadForm(), "can_import": _can_import(request)}
    return render(request, "inventory/csv_index.html", context, status=status)


@require_GET
@account_required
def csv_index(request):
    return _index(request)


@require_GET
@account_required
def csv_export(request):
    stamp = request.account.name.lower().replace(" ", "-")[:40] or "stock"
    return export_response(account=request.account, filename=f"{stamp}-stock.csv")


@require_POST
@role_required(IMPORT_ROLE)
def csv_import_upload(request):
    form = CountsUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _index(request, form, status=400)
    try:
        rows, errors = parse_counts_csv(form.cleaned_data["file"].read())
    except CsvFileInvalid as exc:
        form.add_error("file", exc.message)
        return _index(request, form, status=400)
    token = secrets.token_urlsafe(16)
    payload = rows_to_payload(rows, errors)
    payload.update(account_id=str(request.account.pk), filename=form.cleaned_data["file"].name[:200])
    cache.set(_CACHE_PREFIX + token, payload, PREVIEW_TTL_SECONDS)
    return redirect("inventory_csv:import_preview", token=token)


def _stored(request, token: str) -> dict:
    payload = cache.get(_CACHE_PREFIX + token) if len(token) <= 64 else None
    if not payload or payload.get("account_id") != str(request.account.pk):
        raise Http404("This import preview does not exist or has expired: upload the file again.")
    return payload


def _preview_page(request, token, payload, *, errors=None, status=200):
    rows, parse_errors = rows_from_payload(payload)
    preview = import_preview(account=request.account, rows=rows, errors=parse_errors)
    context = {
        "token": token,
        "filename": payload.get("filename", ""),
        "preview": preview,
        "apply_errors": errors or [],
    }
    return render(request, "inventory/csv_preview.html", context, status=status)


@require_GET
@role_required(IMPORT_ROLE)
def csv_import_preview(request, token):
    return _preview_page(request, token, _stored(request, token))


@require_POST
@role_required(IMPORT_ROLE)
def csv_import_apply(request, token):
    payload = _stored(request, token)
    rows, parse_errors = rows_from_payload(payload)
    if parse_errors:
        return _preview_page(request, token, payload, status=409)
    try:
        result = stock_import_counts(
            account=request.account, rows=rows, actor=request.user, reference=f"csv_import:{token}"
        )
    except ImportRejected as exc:
        return _preview_page(request, token, payload, errors=exc.errors, status=409)
    cache.delete(_CACHE_PREFIX + token)
    messages.success(
        request,
        f"Imported: {result.changed} count(s) changed ({result.units_delta:+d} units), {result.unchanged} unchanged.",
    )
    return redirect("inventory_csv:index")
