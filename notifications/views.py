"""Notification pages and HTMX fragments: the bell, the list, mark read, preferences."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from accounts.facade import account_required, get_for_account_or_404

from . import selectors, services
from .forms import PreferenceForm
from .models import Notification

PAGE_SIZE = 20
# Sent to the page after a change so the bell in the top bar refreshes itself at once.
CHANGED_EVENT = "notifications-changed"


def _list_context(request) -> dict:
    unread_only = request.GET.get("filter") == "unread"
    qs = selectors.notification_list(account=request.account, user=request.user, unread_only=unread_only)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "page": page,
        "notifications": page.object_list,
        "unread_only": unread_only,
        "unread_count": selectors.notification_unread_count(account=request.account, user=request.user),
    }


@require_GET
@account_required
def notification_list(request):
    context = _list_context(request)
    if request.htmx and not request.htmx.boosted:
        return render(request, "notifications/list.html#list", context)
    return render(request, "notifications/list.html", context)


@require_GET
@account_required
def bell(request):
    count = selectors.notification_unread_count(account=request.account, user=request.user)
    return render(request, "notifications/bell.html", {"unread_count": count})


@require_POST
@account_required
def mark_read(request, notification_id):
    notification = get_for_account_or_404(
        Notification.objects.for_member(account=request.account, user=request.user),
        request.account,
        pk=notification_id,
    )
    services.notification_mark_read(notification=notification, actor=request.user)
    if request.htmx:
        response = render(request, "notifications/list.html#row", {"n": notification})
        return trigger_client_event(response, CHANGED_EVENT)
    return redirect("notifications:list")


@require_POST
@account_required
def mark_all_read(request):
    changed = services.notification_mark_all_read(account=request.account, actor=request.user)
    if request.htmx:
        response = render(request, "notifications/list.html#list", _list_context(request))
        return trigger_client_event(response, CHANGED_EVENT)
    messages.success(request, f"Marked {changed} notification{'s' if changed != 1 else ''} read.")
    return redirect("notifications:list")


@require_http_methods(["GET", "POST"])
@account_required
def preferences(request):
    current = selectors.preference_for(account=request.account, user=request.user)
    form = PreferenceForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.preference_update(
            account=request.account,
            actor=request.user,
            email_enabled=form.cleaned_data["email_enabled"],
            email_min_severity=form.cleaned_data["email_min_severity"],
            phone_number=form.cleaned_data["phone_number"],
        )
        messages.success(request, "Notification preferences saved.")
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})
