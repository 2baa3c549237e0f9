"""Buying an order's label: rate shopping, then the best rate with failover, exactly once.

The steps, none of them inside a database transaction while a carrier is called:

1. Claim the order's live `Shipment` (one per order, a partial unique constraint) with a conditional
   UPDATE of `claimed_until`, so two workers never buy for the same order at the same time.
2. Reconcile: an attempt left `started` (a crash) or `unknown` (a timeout) is looked up at its
   carrier with the same idempotency key before anything new is bought; a label found is used.
3. Prepare the addresses and the parcel (services/prepare.py); a problem parks the order in
   `needs_attention` with the problem, and no carrier is called.
4. Ask every enabled carrier account for rates, rank them (services/rating.py).
5. Try the candidates in order. Each attempt is a `LabelAttempt` row with a fresh idempotency key,
   committed before the call. An error, a timeout (after reconciling: it may have bought) or an open
   circuit (carriers: 3 failures → open 30 s, per carrier account) moves on to the next carrier the
   rules allow; an account that failed is not asked again in this run.
6. Bought: the label file is stored, the shipment and order move to `label_purchased`, and the next
   step (consume the stock, tell TikTok) is queued through the outbox in the same transaction.
   Nothing could be bought: the order goes to `needs_attention` with each carrier's error.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from creatorflow.outbox.facade import outbox_enqueue
from creatorflow.resilience.circuit import get_breaker
from orders.facade import InvalidTransition, is_person, order_transition
from orders.models import Order, OrderStatus

from ..carriers import carrier_for
from ..carriers.base import Address, BuyRequest, CarrierError, CarrierTimeout, Label, Parcel, Rate
from ..models import (
    LIVE_SHIPMENT,
    AttemptState,
    CarrierAccount,
    LabelAttempt,
    Shipment,
    ShipmentStatus,
    ShippingProfile,
)
from .prepare import shipment_inputs
from .rating import Candidate, rank

logger = logging.getLogger(__name__)

ACTOR = "shipping"
CLAIM_SECONDS = 300
# A person may buy for an order automation held; automation buys only for `ready` orders.
AUTOMATIC_STATUSES = frozenset({OrderStatus.READY})
MANUAL_STATUSES = frozenset({OrderStatus.READY, OrderStatus.HELD, OrderStatus.NEEDS_ATTENTION})
DONE_STATUSES = frozenset(
    {
        ShipmentStatus.PURCHASED,
        ShipmentStatus.SHIPPED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.DELIVERED,
        ShipmentStatus.RETURNED,
        ShipmentStatus.EXCEPTION,
    }
)


@dataclass(frozen=True)
class PurchaseResult:
    """`state`: "bought" (a label exists, now or from before), "failed" (no carrier could sell one;
    the order is in needs_attention with `error`), "busy" (another worker is buying it right now),
    "skipped" (nothing to do: `error` says why, e.g. the order's status or no carrier account)."""

    state: str
    shipment_id: uuid.UUID | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "bought"


def breaker_for(carrier_account):
    return get_breaker(f"carrier:{carrier_account.provider}:{carrier_account.pk}")


def _claim(order: Order, *, now) -> Shipment | None:
    """The order's live shipment, claimed by this worker until now + CLAIM_SECONDS; None if busy."""
    shipment = Shipment.objects.filter(LIVE_SHIPMENT, order=order).first()
    if shipment is None:
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(account_id=order.account_id, order=order)
        except IntegrityError:  # a concurrent purchase created it
            shipment = Shipment.objects.filter(LIVE_SHIPMENT, order=order).first()
            if shipment is None:
                return None
    if shipment.status in DONE_STATUSES:
        return shipment
    claimed = Shipment.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=shipment.pk
    ).update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    if not claimed:
        return None
    return shipment


def _release(shipment: Shipment) -> None:
    Shipment.objects.filter(pk=shipment.pk).update(claimed_until=None)


def _request(attempt: LabelAttempt, shipment: Shipment, *, label_format: str) -> BuyRequest:
    """The BuyRequest an attempt was (or will be) made with, rebuilt from what the rows hold."""
    return BuyRequest(
        rate=Rate(
            carrier=attempt.carrier,
            service=attempt.service,
            amount=attempt.amount,
            currency=shipment.currency,
            est_days=None,
            rate_id=attempt.rate_id,
            provider_shipment_id=attempt.provider_shipment_id,
        ),
        idempotency_key=attempt.idempotency_key,
        label_format=label_format,
        from_address=Address(**shipment.from_address),
        to_address=Address(**shipment.to_address),
        parcel=Parcel(**shipment.parcel),
        reference=str(shipment.order_id),
    )


def _finish_attempt(attempt: LabelAttempt, *, state: str, error: str = "") -> None:
    LabelAttempt.objects.filter(pk=attempt.pk).update(
        state=state, error=error[:500], finished_at=timezone.now()
    )


def _record_bought(
    *, shipment: Shipment, attempt: LabelAttempt, label: Label, est_days, actor
) -> PurchaseResult:
    """Store the label, then in one transaction: shipment + attempt + order move on, next step queued."""
    extension = "zpl" if label.label_format == "zpl" else "pdf"
    name = f"{label.tracking_number or attempt.idempotency_key}.{extension}"
    file_field = shipment.label_file
    if label.label_bytes:
        file_field.save(name, ContentFile(label.label_bytes), save=False)
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=shipment.order_id)
        Shipment.objects.filter(pk=shipment.pk).update(
            status=ShipmentStatus.PURCHASED,
            carrier_account_id=attempt.carrier_account_id,
            provider=attempt.carrier_account.provider if attempt.carrier_account_id else "",
            carrier=label.carrier or attempt.carrier,
            service=label.service or attempt.service,
            rate_amount=label.amount or attempt.amount,
            currency=label.currency or "USD",
            est_delivery_days=est_days,
            tracking_number=label.tracking_number,
            tracking_url=label.tracking_url[:500],
            label_file=file_field.name or "",
            label_format=label.label_format,
            provider_shipment_id=label.provider_shipment_id or attempt.provider_shipment_id,
            provider_label_id=label.provider_label_id,
            purchased_at=now,
            claimed_until=None,
        )
        LabelAttempt.objects.filter(pk=attempt.pk).update(
            state=AttemptState.BOUGHT, finished_at=now, error=""
        )
        message = f"Label bought: {label.carrier} {label.service}, {label.tracking_number} ({label.amount} {label.currency})"
        try:
            order_transition(
                order=order,
                to=OrderStatus.LABEL_PURCHASED,
                actor=actor or ACTOR,
                reason=message,
                data={"shipment_id": str(shipment.pk), "tracking_number": label.tracking_number},
            )
        except InvalidTransition:
            # Cancelled (or otherwise moved on) while we were buying: give the label back.
            logger.info(
                "shipping: order %s became %s while buying; voiding the label", order.pk, order.status
            )
            outbox_enqueue(
                task="shipping.void_label",
                kwargs={"shipment_id": str(shipment.pk)},
                queue="integrations",
                key=f"void-shipment:{shipment.pk}",
            )
            return PurchaseResult("skipped", shipment.pk, f"The order became {order.status} while buying.")
        if is_person(actor) and not order.touched_by_human:
            Order.objects.filter(pk=order.pk).update(touched_by_human=True)
        outbox_enqueue(
            task="shipping.complete_shipment",
            kwargs={"shipment_id": str(shipment.pk)},
            queue="integrations",
            key=f"complete-shipment:{shipment.pk}",
        )
    return PurchaseResult("bought", shipment.pk)


def _fail(*, shipment: Shipment, order: Order, errors: list[str], actor) -> PurchaseResult:
    """No label: the shipment is failed (freeing the order for a retry) and the order needs a person."""
    reason = ("No label could be bought. " + " ".join(errors))[:500]
    with transaction.atomic():
        Shipment.objects.filter(pk=shipment.pk).update(
            status=ShipmentStatus.FAILED, errors=errors, claimed_until=None
        )
        locked = Order.objects.select_for_update().get(pk=order.pk)
        try:
            order_transition(
                order=locked, to=OrderStatus.NEEDS_ATTENTION, actor=actor or ACTOR, reason=reason
            )
        except InvalidTransition:
            logger.info("shipping: order %s is %s; not parked", order.pk, locked.status)
        else:
            Order.objects.filter(pk=order.pk).update(attention_reason=reason)
    return PurchaseResult("failed", shipment.pk, reason)


def _reconcile(shipment: Shipment, *, label_format: str, actor) -> PurchaseResult | None:
    """Attempts whose outcome is unknown are settled with their carrier before buying again."""
    for attempt in shipment.attempts.filter(
        state__in=[AttemptState.STARTED, AttemptState.UNKNOWN]
    ).select_related("carrier_account"):
        if attempt.carrier_account is None:
            _finish_attempt(attempt, state=AttemptState.FAILED, error="Carrier account deleted")
            continue
        try:
            label = carrier_for(attempt.carrier_account).find_label(
                _request(attempt, shipment, label_format=label_format)
            )
        except CarrierError as exc:
            # Cannot tell yet whether it bought: do not risk a second label; try again later.
            raise CarrierError(f"Cannot confirm an earlier purchase with {attempt.carrier}: {exc.message}",
                               retryable=True) from exc  # fmt: skip
        if label is not None:
            return _record_bought(shipment=shipment, attempt=attempt, label=label, est_days=None, actor=actor)
        _finish_attempt(attempt, state=AttemptState.FAILED, error="Not bought (checked with the carrier)")
    return None


def _rates(accounts, *, inputs, reference: str, errors: list[str]) -> list[Candidate]:
    candidates: list[Candidate] = []
    for ca in accounts:
        breaker = breaker_for(ca)
        if not breaker.allow():
            errors.append(f"{ca.name}: circuit open after repeated failures, skipped.")
            continue
        try:
            rates = carrier_for(ca).rates(
                from_address=inputs.from_address,
                to_address=inputs.to_address,
                parcel=inputs.parcel,
                reference=reference,
            )
        except CarrierError as exc:
            if exc.retryable:
                breaker.record_failure()
            errors.append(f"{ca.name}: no rates ({exc.message})")
            continue
        # A working rates call does not close the count: a carrier whose purchases keep failing
        # must still open its circuit (purchases report success and failure).
        candidates.extend(Candidate(ca, rate) for rate in rates)
    return candidates


def shipment_purchase(*, order_id, actor=None) -> PurchaseResult:
    """Buy the order's label (see the module docstring); safe to call again at any point."""
    order = Order.objects.select_related("account").filter(pk=order_id).first()
    if order is None:
        return PurchaseResult("skipped", error="No such order.")
    existing = Shipment.objects.filter(LIVE_SHIPMENT, order=order).first()
    if existing is not None and existing.status in DONE_STATUSES:
        return PurchaseResult("bought", existing.pk)
    allowed = MANUAL_STATUSES if is_person(actor) else AUTOMATIC_STATUSES
    if order.status not in allowed:
        return PurchaseResult("skipped", error=f"The order is {order.get_status_display().lower()}.")
    accounts = list(CarrierAccount.objects.filter(account_id=order.account_id, enabled=True))
    if not accounts:
        return PurchaseResult("skipped", error="No carrier account is enabled: add one in Shipping settings.")
    if order.status == OrderStatus.HELD:
        # A person buying the label of a held order releases it (held cannot go straight to a label).
        order_transition(
            order=order, to=OrderStatus.READY, actor=actor, reason="Released: label bought by hand"
        )
    now = timezone.now()
    shipment = _claim(order, now=now)
    if shipment is None:
        return PurchaseResult("busy", error="Another worker is buying this label.")
    if shipment.status in DONE_STATUSES:
        return PurchaseResult("bought", shipment.pk)
    profile = ShippingProfile.objects.filter(account_id=order.account_id).first()
    label_format = profile.label_format if profile else "pdf"
    policy = profile.rate_policy if profile else "cheapest"
    try:
        if shipment.from_address and shipment.parcel:
            done = _reconcile(shipment, label_format=label_format, actor=actor)
            if done is not None:
                return done
        inputs = shipment_inputs(order, profile=profile)
        problems = list(inputs.problems) or _verification_problems(accounts, inputs.to_address, profile)
        if problems:
            return _fail(shipment=shipment, order=order, errors=problems, actor=actor)
        shipment.from_address = inputs.from_address.as_dict()
        shipment.to_address = inputs.to_address.as_dict()
        shipment.parcel = {
            "length_mm": inputs.parcel.length_mm,
            "width_mm": inputs.parcel.width_mm,
            "height_mm": inputs.parcel.height_mm,
            "weight_grams": inputs.parcel.weight_grams,
        }
        shipment.label_format = label_format
        shipment.save(update_fields=["from_address", "to_address", "parcel", "label_format", "updated_at"])
        errors: list[str] = []
        candidates = _rates(accounts, inputs=inputs, reference=str(order.pk), errors=errors)
        ranked, _note = rank(candidates, policy=policy, order=order, now=now)
        if candidates and not ranked:
            errors.append(
                "No rate matches the rules: "
                + (f"pinned {order.preferred_carrier} {order.preferred_service}".strip() + "; ")
                + "check the carrier accounts' allowed services."
            )
        failed_accounts: set = set()
        for candidate in ranked:
            ca, rate = candidate.carrier_account, candidate.rate
            if ca.pk in failed_accounts:
                continue
            outcome = _try_buy(shipment, ca, rate, inputs=inputs, label_format=label_format, actor=actor)
            if isinstance(outcome, PurchaseResult):
                return outcome
            errors.append(outcome)
            failed_accounts.add(ca.pk)
        return _fail(
            shipment=shipment, order=order, errors=errors or ["No carrier offered a rate."], actor=actor
        )
    finally:
        _release(shipment)


def _verification_problems(accounts, address, profile) -> list[str]:
    """EasyPost's own verification of the buyer's address, when the account has EasyPost and the
    profile asks for it. A verification that cannot run (EasyPost down) does not hold the order:
    the carriers still check the address when they sell the label."""
    if profile is not None and not profile.verify_addresses:
        return []
    easypost = next((ca for ca in accounts if ca.provider == "easypost"), None)
    if easypost is None:
        return []
    try:
        check = carrier_for(easypost).verify_address(address)
    except CarrierError as exc:
        logger.info("shipping: address verification skipped: %s", exc.message)
        return []
    if check.ok:
        return []
    return [f"EasyPost could not verify the buyer's address: {'; '.join(check.problems)}"]


def _try_buy(shipment, ca, rate: Rate, *, inputs, label_format: str, actor) -> PurchaseResult | str:
    """One attempt at one carrier: a PurchaseResult when bought, else the error text for the creator."""
    breaker = breaker_for(ca)
    name = f"{ca.name} ({rate.carrier} {rate.service})"
    if not breaker.allow():
        return f"{name}: circuit open after repeated failures, skipped."
    attempt = LabelAttempt.objects.create(
        shipment=shipment,
        idempotency_key=uuid.uuid4().hex,
        carrier_account=ca,
        carrier=rate.carrier,
        service=rate.service,
        rate_id=rate.rate_id,
        provider_shipment_id=rate.provider_shipment_id,
        amount=rate.amount,
    )
    request = BuyRequest(
        rate=rate,
        idempotency_key=attempt.idempotency_key,
        label_format=label_format,
        from_address=inputs.from_address,
        to_address=inputs.to_address,
        parcel=inputs.parcel,
        reference=str(shipment.order_id),
    )
    carrier = carrier_for(ca)
    try:
        label = carrier.buy(request)
    except CarrierTimeout as exc:
        breaker.record_failure()
        _finish_attempt(attempt, state=AttemptState.UNKNOWN, error=exc.message)
        try:
            label = carrier.find_label(request)
        except CarrierError as again:
            # Still unknown: leave the attempt for the next run to reconcile rather than risk two labels.
            raise CarrierError(f"{name}: timed out, and the purchase could not be confirmed: {again.message}",
                               retryable=True) from again  # fmt: skip
        if label is None:
            _finish_attempt(attempt, state=AttemptState.FAILED, error=exc.message)
            return f"{name}: {exc.message}"
    except CarrierError as exc:
        if exc.retryable:
            breaker.record_failure()
        else:
            breaker.record_success()
        _finish_attempt(attempt, state=AttemptState.FAILED, error=exc.message)
        return f"{name}: {exc.message}"
    else:
        breaker.record_success()
    attempt.carrier_account = ca
    return _record_bought(
        shipment=shipment, attempt=attempt, label=label, est_days=rate.est_days, actor=actor
    )
