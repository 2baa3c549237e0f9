"""Inventory dashboard pages: the stock list, one SKU (with the adjust form) and the alerts list.

Small function views (STYLE 11): one template per page; an htmx request gets the fragment it
targets (`inventory/list.html#rows`, `inventory/sku.html#ledger`, ...). Reads go through
`inventory.selectors` and the short read helpers below (always filtered by `request.account`);
writes go through `inventory.services`, whose `DomainError`s become inline form errors.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.facade import account_required, role_required
from creatorflow.core.errors import DomainError

from . import selectors
from .charts import COVER_BANDS, LandscapeBar, sparkline_svg, stock_landscape_svg
from .forms import AdjustForm
from .models import SKU, Adjustment, InventoryTransaction, Reservation, StockAlert, StockLevel
from .services.stock import stock_adjust
from .velocity import hourly_units, reorder_suggestion, sku_velocity

PAGE_SIZE = 25
LEDGER_PAGE_SIZE = 20
ALERT_PAGE_SIZE = 25
SPARKLINE_HOURS = 48

STATUS_TABS = (
    ("", "All"),
    (selectors.STATUS_IN, "In stock"),
    (selectors.STATUS_LOW, "Low"),
    (selectors.STATUS_OUT, "Out"),
)
# ?sort= value → (selector ordering, label). The default puts what runs out first on top.
SORTS = {
    "cover": ("days_of_cover", "Days of cover"),
    "name": ("name", "Name"),
    "available": ("available_stock", "Available: fewest first"),
    "-available": ("-available_stock", "Available: most first"),
}
DEFAULT_SORT = "cover"


# --- reads ------------------------------------------------------------------------------------


def _sku_or_404(request, sku_id) -> SKU:
    try:
        return selectors.sku_for_account(account=request.account, sku_id=sku_id)
    except SKU.DoesNotExist as exc:
        raise Http404("No such SKU.") from exc


def _query(**params) -> str:
    """A query string of the non-empty params, for links that keep the current filters."""
    return "?" + urlencode({key: value for key, value in params.items() if value not in ("", None)})


# --- the stock list -----------------------------------------------------------------------------


def _list_context(request) -> dict:
    status = request.GET.get("status", "")
    if status not in selectors.STATUSES:
        status = ""
    search = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    queryset = selectors.sku_list(
        account=request.account, status=status or None, search=search or None, ordering=SORTS[sort][0]
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    skus = list(page.object_list)
    counts = selectors.sku_status_counts(account=request.account, search=search or None)
    bars = [
        LandscapeBar(
            label=sku.name,
            code=sku.seller_sku,
            available=sku.available_stock,
            days_of_cover=sku.days_of_cover,
            url=reverse("inventory:sku", args=[sku.pk]),
        )
        for sku in skus
    ]
    return {
        "page": page,
        "skus": skus,
        "status": status,
        "search": search,
        "sort": sort,
        "sorts": [(key, label) for key, (_field, label) in SORTS.items()],
        "tabs": [
            {
                "value": value,
                "label": label,
                "count": counts[value],
                "query": _query(status=value, q=search, sort=sort),
            }
            for value, label in STATUS_TABS
        ],
        "page_query": _query(status=status, q=search, sort=sort),
        "catalogue_empty": counts[""] == 0 and not search,
        "landscape": stock_landscape_svg(bars),
        "cover_bands": COVER_BANDS,
    }


@require_GET
@account_required
def sku_list(request):
    context = _list_context(request)
    if request.htmx and not request.htmx.boosted:
        return render(request, "inventory/list.html#rows", {**context, "oob": True})
    return render(request, "inventory/list.html", context)


# --- one SKU ------------------------------------------------------------------------------------


def _stock_context(sku: SKU) -> dict:
    return {
        "sku": sku,
        "stock_levels": list(
            StockLevel.objects.filter(sku=sku)
            .select_related("warehouse")
            .order_by("-warehouse__is_default", "warehouse__name")
        ),
        "pending_adjustments": list(
            Adjustment.objects.filter(sku=sku, status=Adjustment.Status.PENDING)
            .select_related("warehouse", "requested_by")
            .order_by("-created_at")
        ),
    }


def _ledger_context(request, sku: SKU) -> dict:
    ledger = (
        InventoryTransaction.objects.filter(account=request.account, sku=sku)
        .select_related("warehouse", "actor")
        .order_by("-created_at", "-id")
    )
    page = Paginator(ledger, LEDGER_PAGE_SIZE).get_page(request.GET.get("ledger_page"))
    return {"sku": sku, "ledger_page": page, "ledger": list(page.object_list)}


def _velocity_context(sku: SKU) -> dict:

    hourly = hourly_units(sku=sku, hours=SPARKLINE_HOURS)
    return {
        "velocity": sku_velocity(sku=sku),
        "reorder": reorder_suggestion(sku=sku),
        "hourly_total": sum(hourly),
        "sparkline": sparkline_svg(hourly, unit="units sold"),
    }


def _sku_context(request, sku: SKU, *, form: AdjustForm | None = None) -> dict:
    can_adjust = request.membership.has_role("member")
    return {
        **_stock_context(sku),
        **_ledger_context(request, sku),
        **_velocity_context(sku),
        "reservations": list(
            Reservation.objects.filter(sku=sku, status=Reservation.Status.ACTIVE)
            .select_related("warehouse")
            .order_by("-created_at")[:50]
        ),
        "alerts": list(
            StockAlert.objects.filter(sku=sku, status=StockAlert.Status.OPEN).order_by("-opened_at")
        ),
        "can_adjust": can_adjust,
        "adjust_form": form or (AdjustForm(account=request.account) if can_adjust else None),
    }


@require_GET
@account_required
def sku_detail(request, sku_id):
    sku = _sku_or_404(request, sku_id)
    if request.htmx and request.htmx.target == "ledger":
        return render(request, "inventory/sku.html#ledger", _ledger_context(request, sku))
    return render(request, "inventory/sku.html", _sku_context(request, sku))


def _adjust_notice(result, quantity: int) -> str:
    if not result.applied:
        return f"Waiting for staff approval (more than 100 units): {quantity:+d} requested."
    return f"Adjusted by {quantity:+d}. New stock level: {result.new_stock_level}."


@require_POST
@role_required("member")
def sku_adjust(request, sku_id):
    """Apply the adjust form through `stock_adjust`. For htmx: the form partial (errors inline, or
    emptied with a notice) plus, on success, the stock panel and the ledger swapped out of band.
    Invalid input answers 200 so htmx swaps the errors in (its default ignores 4xx bodies)."""

    sku = _sku_or_404(request, sku_id)
    form = AdjustForm(request.POST, account=request.account)
    if form.is_valid():
        quantity = form.cleaned_data["quantity"]
        try:
            result = stock_adjust(
                sku=sku,
                quantity=quantity,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                warehouse=form.cleaned_data.get("warehouse"),
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            notice = _adjust_notice(result, quantity)
            if not request.htmx:
                messages.success(request, notice)
                return redirect("inventory:sku", sku_id=sku.pk)
            sku = _sku_or_404(request, sku_id)  # fresh totals
            context = {
                **_stock_context(sku),
                **_ledger_context(request, sku),
                "can_adjust": True,
                "adjust_form": AdjustForm(account=request.account),
                "notice": notice,
                "notice_level": "success" if result.applied else "warning",
            }
            return render(request, "inventory/sku.html#adjust-done", context)
    if request.htmx:
        return render(
            request, "inventory/sku.html#adjust-form", {"sku": sku, "can_adjust": True, "adjust_form": form}
        )
    return render(request, "inventory/sku.html", _sku_context(request, sku, form=form))


# --- alerts -------------------------------------------------------------------------------------


@require_GET
@account_required
def alert_list(request):
    status = request.GET.get("status", StockAlert.Status.OPEN)
    if status not in StockAlert.Status.values:
        status = StockAlert.Status.OPEN
    alerts = StockAlert.objects.filter(account=request.account)
    counts = alerts.order_by().aggregate(
        **{value: Count("pk", filter=Q(status=value)) for value in StockAlert.Status.values}
    )
    page = Paginator(
        alerts.filter(status=status).select_related("sku").order_by("-opened_at", "pk"), ALERT_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "alerts": list(page.object_list),
        "status": status,
        "tabs": [
            {"value": value, "label": label, "count": counts[value]}
            for value, label in StockAlert.Status.choices
        ],
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "inventory/alerts.html#alert-rows", context)
    return render(request, "inventory/alerts.html", context)
