"""The dashboard home and the placeholder pages of sections that are still to come."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from creatorflow.health.facade import latest_health
from notifications.facade import latest_notifications

# Sections whose own app has not taken over its URL yet: what the page will show, and the one
# thing the creator can do now. Each app replaces its entry by routing its own path first.
SECTIONS = {
    "content": {
        "title": "Content",
        "empty_title": "No videos tracked yet",
        "text": "Once your shop is connected, your TikTok videos and the products they sell show up "
        "here, so you see a viral video coming before your stock runs out.",
        "action_url": "/tiktok/connect/",
        "action_label": "Connect TikTok Shop",
    },
    "analytics": {
        "title": "Analytics",
        "empty_title": "Nothing to chart yet",
        "text": "Orders per hour, sales velocity per product and fulfilment times appear here once "
        "orders start flowing.",
        "action_url": "",
        "action_label": "",
    },
}


@require_GET
@login_required
def home(request):
    account = getattr(request, "account", None)
    context = {
        "automation": _automation(account),
        "health": latest_health(details=request.user.is_staff),
        "notifications": latest_notifications(account=account, user=request.user, limit=5),
    }
    return render(request, "core/home.html", context)


AUTOMATION_GOAL = 0.95
AUTOMATION_DAYS = 7


def _automation(account) -> dict | None:
    """The home card: share of the last 7 days' orders that needed no person (goal 95%)."""
    if account is None:
        return None
    from datetime import timedelta

    from django.utils import timezone

    from orders.selectors import automation_rate

    result = automation_rate(account=account, since=timezone.now() - timedelta(days=AUTOMATION_DAYS))
    rate = result["rate"]
    return {
        **result,
        "percent": None if rate is None else round(rate * 100, 1),
        "goal_percent": round(AUTOMATION_GOAL * 100),
        "on_goal": rate is not None and rate >= AUTOMATION_GOAL,
        "days": AUTOMATION_DAYS,
    }


@require_GET
@login_required
def health_panel(request):
    """The home page's health panel alone; the page polls it every 30 s."""
    return render(
        request, "core/home.html#health-panel", {"health": latest_health(details=request.user.is_staff)}
    )


@require_GET
@login_required
def section(request, section: str):
    if section not in SECTIONS:
        raise Http404("No such section.")
    return render(request, "core/section.html", {"section": SECTIONS[section], "slug": section})


@require_GET
@login_required
def settings_page(request):
    return render(request, "core/settings.html")
