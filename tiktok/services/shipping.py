"""Mark Package As Shipped: tell TikTok the order's package left, with the provider id TikTok knows.

TikTok accepts only the shipping providers of the order's delivery option, so our label's carrier
name is mapped onto one of them first. The network calls run with no transaction open; the order's
change is one short transaction afterwards, in which the caller's `on_accepted(order)` runs too
(shipping consumes the stock there: it leaves the ledger only once TikTok has the package). A passing failure (rate limit, TikTok 5xx, timeout, open
circuit) propagates so the caller's task retries; a refusal parks the order in `needs_attention`
with TikTok's message, for a person to fix.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from orders.facade import InvalidTransition, order_transition

from ..client import TikTokClient
from ..wire import TikTokError

logger = logging.getLogger(__name__)

ACTOR = "tiktok"
SHIPPED = "shipped"
NEEDS_ATTENTION = "needs_attention"
# Business codes of POST /fulfillment/202309/orders/{order_id}/packages.
INVALID_PROVIDER = 21011001
INVALID_TRACKING = 21011002
ALREADY_SHIPPED = 21011003
NOT_SHIPPABLE = 21011004

# Names a carrier goes by (normalised: lower case, letters and digits only). Each set is one carrier;
# "ups" and "usps" are deliberately in different sets.
CARRIER_ALIASES: tuple[frozenset[str], ...] = (
    frozenset({"fedex", "federalexpress"}),
    frozenset({"dhl", "dhlecommerce", "dhlecs", "dhlecommercesolutions"}),
    frozenset({"usps", "unitedstatespostalservice", "uspostalservice"}),
    frozenset({"ups", "unitedparcelservice"}),
)


@dataclass(frozen=True)
class MarkShippedResult:
    ok: bool
    package_id: str = ""
    already_shipped: bool = False
    message: str = ""


def normalise_carrier(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (name or "").lower())


def match_provider(carrier_name: str, providers: list[dict]) -> dict | None:
    """The provider whose name is the carrier's: exact (normalised) first, then by alias."""
    wanted = normalise_carrier(carrier_name)
    if not wanted:
        return None
    for provider in providers:
        if normalise_carrier(provider.get("name", "")) == wanted:
            return provider
    group = next((names for names in CARRIER_ALIASES if wanted in names), None)
    if group is None:
        return None
    for provider in providers:
        if normalise_carrier(provider.get("name", "")) in group:
            return provider
    return None


def tiktok_mark_shipped(
    *,
    order,
    carrier_name: str,
    tracking_number: str,
    on_accepted: Callable[[object], None] | None = None,
) -> MarkShippedResult:
    """Create TikTok's package for `order` with the tracking number; move ours to `shipped`.

    "Already shipped" at TikTok counts as success. No provider of the delivery option matching the
    carrier, a rejected tracking number or another refusal: the order goes to `needs_attention`
    and the result says why (ok=False), and `on_accepted` is not called. Retryable TikTok errors and
    CircuitOpenError propagate (nothing of ours changed). On success `on_accepted(order)` runs inside
    the transaction that records it, with the order row locked, so what the caller does there
    commits with TikTok's acceptance or not at all.
    """
    shop = order.shop
    try:
        client = TikTokClient(shop=shop)
        providers = _providers(client, shop, order.delivery_option_id) if order.delivery_option_id else []
    except TikTokError as exc:
        if exc.retryable:
            raise
        return _needs_attention(order, f"TikTok did not list the shipping providers: {exc.message}")
    provider = match_provider(carrier_name, providers)
    if provider is None and order.delivery_option_id:
        try:  # the cached list may be out of date: ask again before refusing
            providers = _providers(client, shop, order.delivery_option_id, fresh=True)
        except TikTokError as exc:
            if exc.retryable:
                raise
            return _needs_attention(order, f"TikTok did not list the shipping providers: {exc.message}")
        provider = match_provider(carrier_name, providers)
    if provider is None:
        allowed = ", ".join(str(p.get("name")) for p in providers) or "none"
        return _needs_attention(
            order,
            f"TikTok does not accept carrier {carrier_name!r} for this order's delivery option "
            f"{order.delivery_option_name or order.delivery_option_id or '(none)'}; it allows: {allowed}.",
        )
    try:
        data = client.create_package(
            order.tiktok_order_id, tracking_number=tracking_number, shipping_provider_id=str(provider["id"])
        )
    except TikTokError as exc:
        if exc.retryable:
            raise
        if exc.code == ALREADY_SHIPPED:
            _record_shipped(order, package_id="", tracking_number=tracking_number, provider=provider,
                            message="TikTok already had this package as shipped",
                            on_accepted=on_accepted)  # fmt: skip
            return MarkShippedResult(ok=True, already_shipped=True, message=exc.message)
        return _needs_attention(order, f"TikTok refused to mark the package shipped: {exc.message}")
    package_id = str(data.get("package_id") or "")
    _record_shipped(order, package_id=package_id, tracking_number=tracking_number, provider=provider,
                    message=f"Marked shipped on TikTok ({provider.get('name')}, {tracking_number})",
                    on_accepted=on_accepted)  # fmt: skip
    return MarkShippedResult(ok=True, package_id=package_id, message="Marked shipped on TikTok")


# A delivery option's providers change rarely; asking once per option and hour instead of once per
# order saves an API call on every shipment (at 500 orders a minute, half the calls of this step).
PROVIDERS_TTL = 3600


def _providers(client, shop, delivery_option_id: str, *, fresh: bool = False) -> list[dict]:
    key = f"tiktok:providers:{shop.pk}:{delivery_option_id}"
    providers = None if fresh else cache.get(key)
    if providers is None:
        providers = client.shipping_providers(delivery_option_id)
        if providers:
            cache.set(key, providers, PROVIDERS_TTL)
    return providers


def _record_shipped(
    order, *, package_id: str, tracking_number: str, provider: dict, message: str, on_accepted=None
) -> None:
    """`shipped` when the lifecycle allows it from the current status; always a timeline entry.
    The order row is locked first, then `on_accepted(order)` runs, in this one transaction."""
    data = {
        "package_id": package_id,
        "tracking_number": tracking_number,
        "shipping_provider_id": str(provider.get("id") or ""),
        "shipping_provider": str(provider.get("name") or ""),
    }
    with transaction.atomic():
        order.status = (
            type(order).objects.select_for_update().values_list("status", flat=True).get(pk=order.pk)
        )
        if on_accepted is not None:
            on_accepted(order)
        try:
            order_transition(order=order, to=SHIPPED, actor=ACTOR, reason=message, data=data)
        except InvalidTransition:
            logger.info("tiktok: order %s is %s; marked shipped at TikTok only", order.pk, order.status)
        order.events.create(type="tiktok_package", message=message[:500], data=data, actor_label=ACTOR)


def _needs_attention(order, reason: str) -> MarkShippedResult:
    reason = reason[:500]
    with transaction.atomic():
        try:
            order_transition(order=order, to=NEEDS_ATTENTION, actor=ACTOR, reason=reason)
        except InvalidTransition:
            order.events.create(type="tiktok_update", message=reason, actor_label=ACTOR)
        else:
            type(order).objects.filter(pk=order.pk).update(attention_reason=reason)
            order.attention_reason = reason
    logger.info("tiktok: order %s needs attention: %s", order.pk, reason)
    return MarkShippedResult(ok=False, message=reason)
