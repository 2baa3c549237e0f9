"""Supplier and purchase order pages: small function views over `inventory.services.purchasing`.

Reading needs any role in the current account; changing anything needs `member` or above, so a
viewer sees the pages without the buttons and gets a 403 if they post anyway. Every object comes
from `get_for_account_or_404`: another account's id is a 404. Refusals from the services
(`DomainError`) become a message on the page (or the re-rendered fragment for an htmx request).
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.facade import account_required, get_for_account_or_404, role_required
from creatorflow.core.errors import DomainError

from .models import PurchaseOrder, Supplier
from .purchase_order_pdf import (
    CENT,
    purchase_order_document,
    render_purchase_order_csv,
    render_purchase_order_pdf,
)
from .purchasing_forms import LineFormSet, PurchaseOrderForm, StatusFilterForm, SupplierForm, receive_fields
from .services import purchasing

EDIT_ROLE = "member"
PAGE_SIZE = 25


def _can_edit(request) -> bool:
    return request.membership.has_role(EDIT_ROLE)


# --- suppliers ------------------------------------------------------------------------------------


@require_GET
@account_required
def supplier_list(request):
    open_orders = Count("purchase_orders", filter=Q(purchase_orders__status__in=purchasing.OPEN_STATUSES))
    suppliers = (
        Supplier.objects.filter(account=request.account)
        .annotate(sku_count=Count("skus", distinct=True), open_orders=open_orders)
        .order_by("name", "pk")
    )
    return render(
        request, "inventory/suppliers.html", {"suppliers": suppliers, "can_edit": _can_edit(request)}
    )


@require_http_methods(["GET", "POST"])
@role_required(EDIT_ROLE)
def supplier_new(request):
    form = SupplierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            supplier = purchasing.supplier_create(
                account=request.account, actor=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Added supplier {supplier.name}.")
            return redirect("purchasing:suppliers")
    return render(request, "inventory/suppliers_form.html", {"form": form, "supplier": None})


@require_http_methods(["GET", "POST"])
@role_required(EDIT_ROLE)
def supplier_edit(request, supplier_id):
    supplier = get_for_account_or_404(Supplier, request.account, pk=supplier_id)
    form = SupplierForm.for_supplier(supplier, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            supplier = purchasing.supplier_update(supplier=supplier, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Saved supplier {supplier.name}.")
            return redirect("purchasing:suppliers")
    return render(request, "inventory/suppliers_form.html", {"form": form, "supplier": supplier})


# --- purchase orders ------------------------------------------------------------------------------


def _order_list(account, status: str):
    total = ExpressionWrapper(
        F("lines__quantity_ordered") * F("lines__unit_cost"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    orders = (
        PurchaseOrder.objects.filter(account=account)
        .select_related("supplier", "warehouse")
        .annotate(
            line_count=Count("lines"),
            units_ordered=Sum("lines__quantity_ordered"),
            units_received=Sum("lines__quantity_received"),
            total=Sum(total),
        )
        .order_by("-created_at", "-number")
    )
    if status == "open":
        orders = orders.filter(status__in=purchasing.OPEN_STATUSES)
    elif status:
        orders = orders.filter(status=status)
    return orders


@require_GET
@account_required
def order_list(request):
    filter_form = StatusFilterForm(request.GET)
    status = filter_form.cleaned_data["status"] if filter_form.is_valid() else ""
    page = Paginator(_order_list(request.account, status), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "orders": page.object_list,
        "status": status,
        "statuses": StatusFilterForm.base_fields["status"].choices,
        "can_edit": _can_edit(request),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "inventory/purchase_orders.html#list", context)
    return render(request, "inventory/purchase_orders.html", context)


@require_http_methods(["GET", "POST"])
@role_required(EDIT_ROLE)
def order_new(request):
    data = request.POST if request.method == "POST" else None
    form = PurchaseOrderForm(data, account=request.account, initial={"supplier": request.GET.get("supplier")})
    lines = LineFormSet(data, account=request.account, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        try:
            po = purchasing.po_create(
                account=request.account,
                supplier=form.cleaned_data["supplier"],
                warehouse=form.cleaned_data["warehouse"],
                lines=lines.lines(),
                actor=request.user,
                notes=form.cleaned_data["notes"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, f"Created draft {po.number}. Check it, then send it to {po.supplier.name}."
            )
            return redirect("purchasing:detail", po_id=po.pk)
    return render(request, "inventory/purchase_order_form.html", {"form": form, "lines": lines})


@require_http_methods(["GET", "POST"])
@account_required
def order_suggest(request):
    if request.method == "POST":
        return _create_from_suggestions(request)
    candidates = purchasing.reorder_candidates(account=request.account)
    return render(
        request,
        "inventory/purchase_order_suggest.html",
        {"candidates": candidates, "can_edit": _can_edit(request)},
    )


def _create_from_suggestions(request):
    if not _can_edit(request):
        raise PermissionDenied(f"This needs the {EDIT_ROLE} role.")
    sku_ids = request.POST.getlist("sku")
    if not sku_ids:
        messages.error(request, "Tick the SKUs to order first.")
        return redirect("purchasing:suggest")
    try:
        orders = purchasing.po_create_from_suggestions(
            account=request.account, sku_ids=sku_ids, actor=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("purchasing:suggest")
    if orders:
        made = ", ".join(f"{po.number} ({po.supplier.name})" for po in orders)
        messages.success(request, f"Created draft purchase order{'s' if len(orders) != 1 else ''} {made}.")
    reasons = {
        "no_supplier": "no supplier",
        "nothing_needed": "nothing to order now",
        "on_draft": "already on a draft order",
        "not_found": "not found",
    }
    skipped = [s for s in orders.skipped if s.reason != "not_found"]
    if skipped:
        listed = ", ".join(f"{s.seller_sku} ({reasons[s.reason]})" for s in skipped)
        messages.warning(request, f"Not ordered: {listed}.")
    if len(orders) == 1:
        return redirect("purchasing:detail", po_id=orders[0].pk)
    return redirect(f"{reverse('purchasing:list')}?status=draft" if orders else reverse("purchasing:suggest"))


def _detail_context(request, po: PurchaseOrder, *, entered=None, errors=None) -> dict:
    lines = list(po.lines.select_related("sku").order_by("sku__seller_sku", "pk"))
    for line in lines:
        line.total = (line.unit_cost * line.quantity_ordered).quantize(CENT)
    return {
        "po": po,
        "lines": lines,
        "total": sum((line.total for line in lines), Decimal("0.00")),
        "open_lines": [line for line in lines if line.quantity_open],
        "can_edit": _can_edit(request),
        "can_send": po.status == PurchaseOrder.Status.DRAFT,
        "can_receive": po.status in purchasing.RECEIVABLE,
        "can_cancel": po.status in purchasing.CANCELLABLE,
        "entered": entered or {},
        "receive_errors": errors or {},
    }


def _load(request, po_id) -> PurchaseOrder:
    return get_for_account_or_404(
        PurchaseOrder.objects.select_related("supplier", "warehouse", "account"), request.account, pk=po_id
    )


@require_GET
@account_required
def order_detail(request, po_id):
    po = _load(request, po_id)
    return render(request, "inventory/purchase_order_detail.html", _detail_context(request, po))


def _after_action(request, po: PurchaseOrder, *, ok: str | None = None, error: str | None = None, **extra):
    """htmx: the re-rendered order with the outcome inline; otherwise a message and a redirect."""
    if request.htmx:
        context = _detail_context(request, po, **extra)
        context.update({"action_ok": ok, "action_error": error})
        return render(request, "inventory/purchase_order_detail.html#body", context)
    if error:
        messages.error(request, error)
    elif ok:
        messages.success(request, ok)
    return redirect("purchasing:detail", po_id=po.pk)


@require_POST
@role_required(EDIT_ROLE)
def order_send(request, po_id):
    po = _load(request, po_id)
    try:
        po = purchasing.po_send(po=po, actor=request.user)
    except DomainError as exc:
        return _after_action(request, po, error=exc.message)
    return _after_action(
        request, po, ok=f"{po.number} sent to {po.supplier.email}, with the PDF and CSV attached."
    )


@require_POST
@role_required(EDIT_ROLE)
def order_receive(request, po_id):
    po = _load(request, po_id)
    quantities, seen, errors = receive_fields(request.POST)
    entered = {line_id: request.POST.get(f"qty-{line_id}", "") for line_id in {*quantities, *errors}}
    if errors:
        return _after_action(request, po, error="Check the quantities.", entered=entered, errors=errors)
    try:
        po = purchasing.po_receive(po=po, quantities=quantities, actor=request.user, seen_received=seen)
    except DomainError as exc:
        po.refresh_from_db()
        return _after_action(request, po, error=exc.message, entered=entered)
    units = sum(quantities.values())
    return _after_action(
        request,
        po,
        ok=f"Received {units} unit{'s' if units != 1 else ''}; {po.number} is {po.get_status_display().lower()}.",
    )


@require_POST
@role_required(EDIT_ROLE)
def order_cancel(request, po_id):
    po = _load(request, po_id)
    try:
        po = purchasing.po_cancel(po=po, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        return _after_action(request, po, error=exc.message)
    return _after_action(request, po, ok=f"{po.number} cancelled.")


def _download(po: PurchaseOrder, content: bytes, *, extension: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{po.number}.{extension}"'
    return response


@require_GET
@account_required
def order_pdf(request, po_id):
    po = _load(request, po_id)
    pdf = render_purchase_order_pdf(purchase_order_document(po))
    return _download(po, pdf, extension="pdf", content_type="application/pdf")


@require_GET
@account_required
def order_csv(request, po_id):
    po = _load(request, po_id)
    content = render_purchase_order_csv(purchase_order_document(po))
    return _download(po, content, extension="csv", content_type="text/csv; charset=utf-8")
