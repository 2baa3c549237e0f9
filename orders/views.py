"""Orders dashboard pages: the list, one order, the review queue and the bulk bar.

Small function views (STYLE 11): one template per page; an htmx request gets the fragment it
targets (`orders/list.html#rows`, `orders/detail.html#order-main`). Reads go through
`orders.selectors` (always filtered by `request.account`); writes go through
`orders.services.actions`, whose `DomainError`s come back as inline errors. Viewers read only:
every POST needs the member role.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.facade import account_required, get_for_account_or_404, role_required
from creatorflow.core.errors import DomainError
from inventory.models import SKU

from . import selectors
from .forms import BULK_ACTIONS, BackorderForm, BulkForm, ReasonForm, TagsForm
from .lifecycle import OPEN_STATUSES
from .models import Order, OrderStatus, PriorityLevel
from .services import actions

PAGE_SIZE = 25
REFRESH_SECONDS = 15


def _query(**params) -> str:
    return "?" + urlencode({key: value for key, value in params.items() if value not in ("", None)})


def _can_edit(request) -> bool:
    return request.membership.has_role("member")


# --- the list and the review queue ----------------------------------------------------------------


def _list_context(request, *, review: bool) -> dict:
    status = request.GET.get("status", "")
    allowed = selectors.REVIEW_STATUSES if review else OrderStatus.values
    if status not in allowed:
        status = ""
    priority = request.GET.get("priority", "")
    if priority not in PriorityLevel.values:
        priority = ""
    search = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", selectors.DEFAULT_SORT)
    if sort not in selectors.SORTS:
        sort = selectors.DEFAULT_SORT
    queryset = selectors.order_list(
        account=request.account,
        statuses=selectors.REVIEW_STATUSES if review else None,
        status=status or None,
        priority=priority or None,
        search=search or None,
        sort=sort,
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    url = reverse("orders:review" if review else "orders:list")
    statuses = (
        [(value, OrderStatus(value).label) for value in selectors.REVIEW_STATUSES]
        if review
        else OrderStatus.choices
    )
    context = {
        "page": page,
        "orders": list(page.object_list),
        "status": status,
        "priority": priority,
        "search": search,
        "sort": sort,
        "statuses": statuses,
        "priorities": PriorityLevel.choices,
        "sorts": [("priority", "Priority"), ("ship_by", "Ship-by"), ("newest", "Newest"), ("total", "Total")],
        "page_query": _query(status=status, priority=priority, q=search, sort=sort),
        "selected": set(request.GET.getlist("ids")),
        "review": review,
        "list_url": url,
        "can_edit": _can_edit(request),
        "bulk_actions": BULK_ACTIONS,
        "refresh_seconds": REFRESH_SECONDS,
        "filtered": bool(status or priority or search),
    }
    if review:
        context["review_counts"] = selectors.status_counts(
            account=request.account, statuses=selectors.REVIEW_STATUSES
        )
    return context


def _render_list(request, *, review: bool):
    context = _list_context(request, review=review)
    if request.htmx and not request.htmx.boosted:
        return render(request, "orders/list.html#rows", context)
    return render(request, "orders/list.html", context)


@require_GET
@account_required
def order_list(request):
    return _render_list(request, review=False)


@require_GET
@account_required
def review_queue(request):
    return _render_list(request, review=True)


@require_POST
@role_required("member")
def order_bulk(request):
    """Apply one action to the selected orders and go back to the page it came from."""
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("orders:list")
    form = BulkForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("__all__", []) + form.errors.get("action", []):
            messages.error(request, error)
        return redirect(next_url or reverse("orders:list"))
    orders = selectors.orders_for_ids(account=request.account, ids=form.cleaned_data["ids"])
    action = form.cleaned_data["action"]
    try:
        if action == "rerun":
            from .rules import rules_rerun

            changed = rules_rerun(orders=orders, actor=request.user)
            messages.success(request, f"Rules re-run on {len(orders)} orders; {changed} changed.")
        else:
            result = actions.orders_bulk(
                orders=orders, action=action, actor=request.user, reason=form.cleaned_data["reason"]
            )
            done, failed = result.get("done", []), result.get("failed", [])
            label = dict(BULK_ACTIONS)[action]
            if done:
                messages.success(request, f"{label}: {len(done)} order{'s' if len(done) != 1 else ''} done.")
            for line in failed[:10]:
                messages.error(request, f"Not done: {line}")
            if len(failed) > 10:
                messages.error(request, f"…and {len(failed) - 10} more not done.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect(next_url or reverse("orders:list"))


# --- one order ------------------------------------------------------------------------------------


def _order_or_404(request, order_id) -> Order:
    return get_for_account_or_404(
        selectors.order_detail_queryset(account=request.account), request.account, pk=order_id
    )


def _detail_context(request, order: Order, **extra) -> dict:
    can_edit = _can_edit(request)
    context = {
        "order": order,
        "items": list(order.items.all()),
        "events": list(order.events.all()),
        "reservations": selectors.order_reservations(order=order),
        "can_edit": can_edit,
        "is_open": order.status in _open_statuses(),
        "tags_form": TagsForm(initial={"tags": ", ".join(order.tags or [])}),
        "hold_form": ReasonForm(),
        "cancel_form": ReasonForm(),
        "backorder_form": BackorderForm(account=request.account),
        "backorder_choices": BackorderForm.base_fields["option"].choices,
        "sku_codes": _sku_codes(request) if can_edit and order.status == OrderStatus.BACKORDERED else [],
        "recipient_lines": _recipient_lines(order),
    }
    context.update(extra)
    return context


def _open_statuses():

    return OPEN_STATUSES


def _sku_codes(request) -> list[str]:

    return list(
        SKU.objects.filter(account=request.account)
        .order_by("seller_sku")
        .values_list("seller_sku", flat=True)[:500]
    )


def _recipient_lines(order: Order) -> list[str]:
    address = order.recipient or {}
    lines = [order.recipient_name or address.get("name", "")]
    full = address.get("full_address")
    if full:
        lines.append(full)
    else:
        lines += [address.get("address_line1", ""), address.get("address_line2", "")]
        lines.append(
            " ".join(part for part in (address.get("city", ""), order.state, order.postal_code) if part)
        )
    lines.append(order.country)
    return [line for line in lines if line]


@require_GET
@account_required
def order_detail(request, order_id):
    order = _order_or_404(request, order_id)
    return render(request, "orders/detail.html", _detail_context(request, order))


def _after_action(request, order_id, *, notice: str = "", error: str = "", **forms):
    """htmx: the order's main panel again (fresh, with the notice or the inline error);
    otherwise a redirect to the order's page with a message (errors keep the page)."""
    order = _order_or_404(request, order_id)
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif notice:
            messages.success(request, notice)
        return redirect("orders:detail", order_id=order.pk)
    context = _detail_context(request, order, notice=notice, action_error=error, **forms)
    return render(request, "orders/detail.html#order-main", context)


def _run(request, order_id, call, notice: str, **forms):
    try:
        call()
    except DomainError as error:
        return _after_action(request, order_id, error=error.message, **forms)
    return _after_action(request, order_id, notice=notice)


@require_POST
@role_required("member")
def order_approve(request, order_id):
    order = _order_or_404(request, order_id)
    return _run(
        request,
        order_id,
        lambda: actions.order_approve(order=order, actor=request.user),
        "Order approved.",
    )


@require_POST
@role_required("member")
def order_hold(request, order_id):
    order = _order_or_404(request, order_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _after_action(request, order_id, error="Check the reason.", hold_form=form)
    reason = form.cleaned_data["reason"]
    return _run(
        request,
        order_id,
        lambda: actions.order_hold(order=order, actor=request.user, reason=reason),
        "Order held.",
        hold_form=form,
    )


@require_POST
@role_required("member")
def order_cancel(request, order_id):
    order = _order_or_404(request, order_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _after_action(request, order_id, error="Check the reason.", cancel_form=form)
    reason = form.cleaned_data["reason"]
    return _run(
        request,
        order_id,
        lambda: actions.order_cancel(order=order, actor=request.user, reason=reason),
        "Order cancelled.",
        cancel_form=form,
    )


@require_POST
@role_required("member")
def order_tags(request, order_id):
    order = _order_or_404(request, order_id)
    form = TagsForm(request.POST)
    if not form.is_valid():
        return _after_action(request, order_id, error="Check the tags.", tags_form=form)
    tags = form.cleaned_data["tags"]
    return _run(
        request,
        order_id,
        lambda: actions.order_set_tags(order=order, tags=tags, actor=request.user),
        "Tags saved.",
        tags_form=form,
    )


@require_POST
@role_required("member")
def order_backorder(request, order_id):
    order = _order_or_404(request, order_id)
    form = BackorderForm(request.POST, account=request.account)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        return _after_action(request, order_id, error=first, backorder_form=form)
    option = form.cleaned_data["option"]
    substitute = form.cleaned_data.get("substitute_sku")
    return _run(
        request,
        order_id,
        lambda: actions.order_resolve_backorder(
            order=order, option=option, actor=request.user, substitute_sku=substitute
        ),
        f"Backorder: {dict(form.fields['option'].choices)[option].lower()}.",
        backorder_form=form,
    )
