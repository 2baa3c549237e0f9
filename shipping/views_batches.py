"""Label batch pages and the pick list.

- `POST /shipping/batches/` (from the orders list's selection, field `order_ids`; the orders list's
  own checkboxes are named `ids` and are accepted too) creates a batch and redirects to its page.
- `GET /shipping/batches/`: the account's batches. `GET /shipping/batches/<id>/`: one batch with its
  progress bar, which polls `/progress/` every 2 s while the batch runs (the fragment stops
  polling once it is finished), the failures with their reasons, "Retry failed", "Download PDF".
- `GET /shipping/batches/<id>/pdf/`: the merged PDF. `POST /shipping/pick-list/`: a pick list PDF for
  the selected orders, inline.

Objects are looked up in the request's account only (a foreign id is a 404); POSTs need the member
role, so viewers only look.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, When
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.facade import account_required, get_for_account_or_404, role_required
from creatorflow.core.errors import DomainError, NotFound
from orders.models import Order

from .models import LabelBatch
from .services.batches import (
    batch_progress,
    batch_zpl_count,
    label_batch_create,
    label_batch_retry_failed,
    order_ids_parse,
)

EDIT_ROLE = "member"
PAGE_SIZE = 25
FAILURES_SHOWN = 200


def _selected_ids(request) -> list[str]:
    return request.POST.getlist("order_ids") or request.POST.getlist("ids")


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def _batch_or_404(request, batch_id) -> LabelBatch:
    return get_for_account_or_404(LabelBatch, request.account, pk=batch_id)


@require_http_methods(["GET", "POST"])
def batches(request):
    if request.method == "POST":
        return batch_create(request)
    return batch_list(request)


@account_required
def batch_list(request):
    queryset = LabelBatch.objects.filter(account=request.account).select_related("created_by")
    page = Paginator(queryset.order_by("-created_at"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "shipping/batch_list.html", {"page": page, "batches": list(page.object_list)})


@role_required(EDIT_ROLE)
def batch_create(request):
    try:
        batch = label_batch_create(
            account=request.account, order_ids=_selected_ids(request), actor=request.user
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(request, reverse("orders:list"))
    messages.success(request, f"Buying {batch.total} label{'s' if batch.total != 1 else ''}.")
    return redirect("shipping:batch-detail", batch_id=batch.pk)


def _detail_context(request, batch: LabelBatch) -> dict:
    Item = batch.items.model.Status
    progress = batch_progress(batch)
    # Every order not shipped yet, with where it stands: refused first, then waiting, then labelled.
    outcomes = list(
        batch.items.filter(status__in=[Item.FAILED, Item.WAITING, Item.LABELLED])
        .select_related("order")
        .order_by(Case(When(status=Item.FAILED, then=0), When(status=Item.WAITING, then=1), default=2), "id")[
            :FAILURES_SHOWN
        ]
    )
    return {
        "batch": batch,
        "progress": progress,
        "outcomes": outcomes,
        "unshipped": progress["failed"] + progress["waiting"] + progress["labelled"],
        "running": batch.status == LabelBatch.Status.RUNNING,
        "zpl_count": 0 if batch.status == LabelBatch.Status.RUNNING else batch_zpl_count(batch),
        "can_edit": request.membership.has_role(EDIT_ROLE),
    }


@require_GET
@account_required
def batch_detail(request, batch_id):
    batch = _batch_or_404(request, batch_id)
    return render(request, "shipping/batch_detail.html", _detail_context(request, batch))


@require_GET
@account_required
def batch_progress_fragment(request, batch_id):
    """The fragment the batch page polls every 2 s; once finished it renders without the trigger."""
    batch = _batch_or_404(request, batch_id)
    return render(request, "shipping/batch_detail.html#progress", _detail_context(request, batch))


@require_POST
@role_required(EDIT_ROLE)
def batch_retry(request, batch_id):
    batch = _batch_or_404(request, batch_id)
    try:
        count = label_batch_retry_failed(batch=batch, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Retrying {count} order{'s' if count != 1 else ''}.")
    return redirect("shipping:batch-detail", batch_id=batch.pk)


@require_GET
@account_required
def batch_pdf(request, batch_id):
    batch = _batch_or_404(request, batch_id)
    if not batch.merged_pdf:
        raise Http404("This batch has no merged PDF yet.")
    return FileResponse(
        batch.merged_pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=request.GET.get("download") == "1",
        filename=f"labels-{batch.created_at:%Y%m%d-%H%M}.pdf",
    )


@require_POST
@role_required(EDIT_ROLE)
def pick_list(request):
    """A pick list PDF (SKU totals) for the selected orders of the account, shown inline."""
    from .documents.builders import pick_list_for_orders

    try:
        pks = order_ids_parse(_selected_ids(request))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not pks:
        return HttpResponseBadRequest(
            "Select at least one order for the pick list.", content_type="text/plain"
        )
    if len(pks) > LabelBatch.MAX_ORDERS:
        return HttpResponseBadRequest(
            f"A pick list covers at most {LabelBatch.MAX_ORDERS} orders; {len(pks)} were selected.",
            content_type="text/plain",
        )
    owned = list(Order.objects.filter(account=request.account, pk__in=pks).values_list("pk", flat=True))
    if len(owned) != len(pks):
        raise Http404("One of the selected orders does not exist.")
    response = HttpResponse(pick_list_for_orders(owned), content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="pick-list.pdf"'
    return response
