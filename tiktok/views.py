"""TikTok Shop pages: connecting a shop (OAuth), and the Shops page with its buttons.

OAuth (CONTRACT.md §3): `/tiktok/connect/` sends the creator to TikTok's consent page with a random
`state` remembered in the session; `/tiktok/oauth/callback/` accepts the code only with a state
this session was given in the last ten minutes and has not used yet. Every refusal or failure of the
callback redirects to the Shops page with a message saying what happened and stores nothing;
success redirects to the dashboard naming the shops.

Connecting, resyncing, disconnecting and replaying need the admin role (owners included); anyone
in the account may look at the page. Objects are looked up in the request's account only, so a
foreign id is a 404.
"""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.facade import account_required, get_for_account_or_404, role_required
from creatorflow.core.errors import DomainError
from creatorflow.inbox.models import InboundEventStatus
from creatorflow.inbox.services import inbox_replay
from creatorflow.resilience.circuit import CircuitOpenError

from . import selectors
from .models import Shop
from .services.connect import shop_disconnect, shops_connect
from .services.sync import shop_resync
from .wire import TikTokError

logger = logging.getLogger(__name__)

STATE_SESSION_KEY = "tiktok_oauth_states"
STATE_TTL_S = 10 * 60
STATES_KEPT = 5
MANAGE_ROLE = "admin"


# --- OAuth ------------------------------------------------------------------------------------


def _live_states(request, now: float) -> list[dict]:
    states = request.session.get(STATE_SESSION_KEY) or []
    return [s for s in states if isinstance(s, dict) and now - float(s.get("at", 0)) < STATE_TTL_S]


def _take_state(request, given: str) -> bool:
    """True when `given` is one of this session's live states; it is used up either way."""
    now = time.time()
    states = _live_states(request, now)
    match = next(
        (
            s
            for s in states
            if given and secrets.compare_digest(str(s.get("state", "")).encode(), given.encode())
        ),
        None,
    )
    request.session[STATE_SESSION_KEY] = [s for s in states if s is not match]
    return match is not None


@require_GET
@role_required(MANAGE_ROLE)
def connect(request):
    """Send the creator to TikTok's consent page; the state binds the answer to this session."""
    if not settings.TIKTOK_SERVICE_ID:
        messages.error(request, "TikTok Shop is not configured on this server (no service id).")
        return redirect("tiktok:shops")
    state = secrets.token_urlsafe(24)
    now = time.time()
    states = _live_states(request, now)[-(STATES_KEPT - 1) :] + [{"state": state, "at": now}]
    request.session[STATE_SESSION_KEY] = states
    query = urlencode({"service_id": settings.TIKTOK_SERVICE_ID, "state": state})
    return redirect(f"{settings.TIKTOK_AUTHORIZE_URL}?{query}")


def _refused(request, text: str):
    messages.error(request, text)
    return redirect("tiktok:shops")


@require_GET
@role_required(MANAGE_ROLE)
def oauth_callback(request):
    """TikTok's redirect after the consent page: check the state, then connect the shops."""
    state = request.GET.get("state", "")[:200]
    state_ok = _take_state(request, state)
    error = request.GET.get("error", "")[:100]
    if error:
        if error == "auth_denied":
            return _refused(
                request, "You did not authorize CreatorFlow in TikTok Shop, so nothing was connected."
            )
        return _refused(
            request, f"TikTok Shop did not authorize the connection ({error}); nothing was connected."
        )
    if not state_ok:
        return _refused(
            request,
            "This connection link is not valid (expired, already used, or started in another browser). "
            "Nothing was connected: please start again with “Connect a shop”.",
        )
    code = request.GET.get("code", "").strip()
    if not code or len(code) > 512:
        return _refused(request, "TikTok Shop sent no authorization code; nothing was connected.")
    try:
        shops = shops_connect(account=request.account, auth_code=code, actor=request.user)
    except DomainError as exc:
        return _refused(request, exc.message)
    except CircuitOpenError:
        return _refused(
            request, "TikTok Shop is not answering right now; nothing was connected. Try again in a minute."
        )
    except TikTokError as exc:
        logger.warning("tiktok: connecting for account %s failed: %s", request.account.pk, exc)
        return _refused(
            request, f"TikTok Shop refused the connection ({exc.message}); nothing was connected."
        )
    names = ", ".join(shop.name for shop in shops)
    plural = "s" if len(shops) != 1 else ""
    messages.success(request, f"Connected TikTok shop{plural} {names}. The first import has started.")
    return redirect("/")


# --- the Shops page ---------------------------------------------------------------------------


def _can_manage(request) -> bool:
    return request.membership.has_role(MANAGE_ROLE)


def _last_line(error: str) -> str:
    """A stored error is a traceback; its last line names what went wrong."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


@require_GET
@account_required
def shops_page(request):
    events = selectors.recent_events(account=request.account)
    context = {
        "cards": selectors.shop_cards(account=request.account),
        "events": [
            (event, selectors.event_type_name(event.event_type), _last_line(event.last_error))
            for event in events
        ],
        "can_manage": _can_manage(request),
        "dead": InboundEventStatus.DEAD,
    }
    return render(request, "tiktok/shops.html", context)


def _shop_or_404(request, shop_id) -> Shop:
    return get_for_account_or_404(Shop, request.account, pk=shop_id)


@require_GET
@account_required
def shop_progress(request, shop_id):
    """The progress fragment one shop card polls every 2 s while its import runs."""
    shop = _shop_or_404(request, shop_id)
    context = {"shop": shop, "run": selectors.latest_progress_run(shop=shop)}
    return render(request, "tiktok/shops.html#run", context)


@require_POST
@role_required(MANAGE_ROLE)
def shop_resync_view(request, shop_id):
    shop = _shop_or_404(request, shop_id)
    if not shop.is_active:
        messages.error(request, f"{shop.name} is disconnected: connect it again before a resync.")
        return redirect("tiktok:shops")
    try:
        shop_resync(shop=shop, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Resync of {shop.name} started.")
    return redirect("tiktok:shops")


@require_POST
@role_required(MANAGE_ROLE)
def shop_disconnect_view(request, shop_id):
    shop = _shop_or_404(request, shop_id)
    shop_disconnect(shop=shop, actor=request.user)
    messages.success(
        request, f"{shop.name} is disconnected. Its orders stay here; connect it again any time."
    )
    return redirect("tiktok:shops")


@require_POST
@role_required(MANAGE_ROLE)
def event_replay(request, event_id):
    event = selectors.event_for_account(account=request.account, event_id=event_id)
    if inbox_replay(event_ids=[event.pk], actor=request.user):
        messages.success(request, f"Event {event.pk} will be processed again.")
    else:
        messages.info(
            request, f"Event {event.pk} is not waiting for a replay ({event.get_status_display()})."
        )
    return redirect(reverse("tiktok:shops") + "#events")
