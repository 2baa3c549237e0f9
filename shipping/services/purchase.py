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
   step (tell TikTok; the stock leaves once TikTok accepted) is queued through the outbox in the same
   transaction.
7. Nothing bought, and at least one carrier failed for a reason that passes on its own (an open
   circuit, a 5xx, a 429, a timeout, no connection, an earlier purchase that cannot be confirmed
   yet): the shipment *waits* (`waiting`, "Waiting for carrier" with the reasons and the next try)
   and the purchase is queued again with `outbox_enqueue(not_before=...)` after a backoff of
   30 s, 1, 2, 4 … minutes, at most an hour, and never before an open breaker's remaining time. The
   order stays `ready`: no person is needed. Only refusals that will not pass (a bad address,
   refused credentials, no service or rate the rules allow) park the order in `needs_attention`.

The breaker of each carrier account is asked once per run (`allow()`, which also takes the
half-open trial slot) and told the outcome of every answer: any good answer (rates or a purchase,
or a timeout that the follow-up lookup proves was a purchase) is a success, only a failure that may
pass is a failure, and a refusal (a 4xx) is a success too, since the carrier answered.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from creatorflow.outbox.facade import outbox_enqueue
from creatorflow.resilience.circuit import get_breaker
from creatorflow.resilience.heartbeat import STALE_AFTER, beating
from orders.facade import InvalidTransition, can_transition, is_person, order_transition
from orders.models import Order, OrderStatus
from orders.services.lifecycle import order_event

from ..carriers import carrier_for
from ..carriers.base import Address, BuyRequest, CarrierError, CarrierTimeout, Label, Parcel, Rate
from ..models import (
    LIVE_SHIPMENT,
    AttemptState,
    CarrierAccount,
    FailureKind,
    LabelAttempt,
    Shipment,
    ShipmentStatus,
    ShippingProfile,
)
from .prepare import shipment_inputs
from .rating import Candidate, rank

logger = logging.getLogger(__name__)

ACTOR = "shipping"
# The claim is short and renewed every few seconds while the purchase runs (`beating`), so a worker
# that dies mid-purchase frees the order within STALE_AFTER and another worker settles it.
CLAIM_SECONDS = STALE_AFTER
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


# The wait before the n-th automatic retry: BASE * 2^(n-1) seconds (30 s, 1, 2, 4 … min), at most
# CAP. Both may be lowered by settings of the same names (tests do, to watch a wait pass).
RETRY_BASE_SECONDS = 30.0
RETRY_CAP_SECONDS = 3600.0
# A purchase message that arrives this long before the shipment's `retry_at` (a duplicate, or the
# `ready` transition's own message) leaves the wait alone; the scheduled retry comes at `retry_at`.
EARLY_TOLERANCE = timedelta(seconds=1)


@dataclass(frozen=True)
class PurchaseResult:
    """`state`: "bought" (a label exists, now or from before), "waiting" (every carrier that might
    sell one failed for a passing reason: tried again on its own at `retry_at`; `error` says why),
    "failed" (no carrier will sell one as things are; the order is in needs_attention with
    `error`), "busy" (another worker is buying it right now), "skipped" (nothing to do: `error`
    says why, e.g. the order's status or no carrier account)."""

    state: str
    shipment_id: uuid.UUID | None = None
    error: str = ""
    retry_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.state == "bought"


@dataclass(frozen=True)
class Problem:
    """One carrier's answer that sold no label, in the creator's words. `retryable`: it may pass on
    its own. `wait`: seconds before asking again is pointless (an open breaker's remaining time).
    `stop`: an attempt's outcome is unknown, so no other carrier may be tried before it is settled."""

    text: str
    retryable: bool
    wait: float = 0.0
    stop: bool = False


def retry_delay(tries: int, *, at_least: float = 0.0) -> float:
    """Seconds before the next automatic try after `tries` tries that ended waiting (1, 2, …):
    exponential from RETRY_BASE_SECONDS with up to 10 % jitter (so the orders one outage held do not
    all come back in the same second), never under `at_least`, never over RETRY_CAP_SECONDS."""
    base = float(getattr(settings, "SHIPPING_PURCHASE_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS))
    cap = float(getattr(settings, "SHIPPING_PURCHASE_RETRY_CAP_SECONDS", RETRY_CAP_SECONDS))
    delay = base * (2 ** min(max(tries, 1) - 1, 20)) * (1 + random.uniform(0, 0.1))
    return min(cap, max(delay, at_least))


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


def _renew_claim(shipment_id) -> None:
    """Heartbeat: keep this worker's claim fresh. Only a claim still held is extended (fenced by
    `claimed_until` not null), so a renewal after the release claims nothing."""
    Shipment.objects.filter(pk=shipment_id, claimed_until__isnull=False).update(
        claimed_until=timezone.now() + timedelta(seconds=CLAIM_SECONDS)
    )


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
            retry_at=None,
            wait_reason="",
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


def _fail(*, shipment: Shipment, order: Order, errors: list[str], actor, kind: str) -> PurchaseResult:
    """No label: the shipment is failed (freeing the order for a retry) and the order needs a person.
    `kind` records whether the cause may pass on its own (the sweep retries those)."""
    reason = ("No label could be bought. " + " ".join(errors))[:500]
    with transaction.atomic():
        Shipment.objects.filter(pk=shipment.pk).update(
            status=ShipmentStatus.FAILED,
            errors=errors,
            failure_kind=kind,
            claimed_until=None,
            retry_at=None,
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


def _wait(*, shipment: Shipment, order: Order, problems: list[Problem], actor, now) -> PurchaseResult:
    """Every carrier that might sell a label failed for a passing reason: try again later, alone.

    One transaction: the shipment becomes `waiting` with the reasons and `retry_at`, the order stays
    (or, when a person asked from the review queue, becomes) `ready`, the timeline says so, and the
    retry is an outbox row due at `retry_at` under a key unique to this try (so each wait schedules
    exactly one retry, and a repeated run of the same try schedules nothing new).
    """
    texts = [p.text for p in problems]
    tries = (Shipment.objects.filter(pk=shipment.pk).values_list("retry_count", flat=True).first() or 0) + 1
    delay = retry_delay(tries, at_least=max((p.wait for p in problems), default=0.0))
    retry_at = now + timedelta(seconds=delay)
    reason = " ".join(texts)[:500]
    with transaction.atomic():
        Shipment.objects.filter(pk=shipment.pk).update(
            status=ShipmentStatus.WAITING,
            errors=texts,
            wait_reason=reason,
            retry_at=retry_at,
            retry_count=tries,
            claimed_until=None,
            updated_at=now,
        )
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status in (OrderStatus.HELD, OrderStatus.NEEDS_ATTENTION) and can_transition(
            locked.status, OrderStatus.READY
        ):
            # A person asked for this label: it is now the pipeline's to finish, no longer theirs.
            Order.objects.filter(pk=locked.pk).update(attention_reason="", hold_reason="")
            order_transition(
                order=locked, to=OrderStatus.READY, actor=actor or ACTOR, reason="Waiting for carrier"
            )
        order_event(
            order=locked,
            type="shipping_wait",
            actor=actor or ACTOR,
            message=f"Waiting for carrier: next try at {retry_at:%H:%M} UTC (try {tries + 1}). {reason}",
            data={"shipment_id": str(shipment.pk), "retry_at": retry_at.isoformat(), "tries": tries},
        )
        outbox_enqueue(
            task="shipping.purchase_label",
            kwargs={"order_id": str(order.pk)},
            queue="integrations",
            key=f"purchase-retry:{shipment.pk}:{tries}",
            not_before=retry_at,
        )
    logger.info("shipping: order %s waits for a carrier until %s: %s", order.pk, retry_at, reason)
    return PurchaseResult("waiting", shipment.pk, reason, retry_at=retry_at)


def _resume_handoff(*, shipment: Shipment, order: Order, actor) -> None:
    """The label was bought but the hand-over to TikTok stopped (TikTok refused and a person has
    since fixed the cause and approved the order): move the order back to `label_purchased` and queue
    the hand-over again, under a fresh key since the first one is done. Under the order's lock, so
    two such calls resume it once."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        allowed = MANUAL_STATUSES if is_person(actor) else AUTOMATIC_STATUSES
        if locked.status not in allowed:
            return
        if locked.status == OrderStatus.HELD:
            order_transition(order=locked, to=OrderStatus.READY, actor=actor, reason="Released by hand")
        if not can_transition(locked.status, OrderStatus.LABEL_PURCHASED):
            return
        Order.objects.filter(pk=locked.pk).update(attention_reason="")
        order_transition(
            order=locked,
            to=OrderStatus.LABEL_PURCHASED,
            actor=actor or ACTOR,
            reason=f"Label {shipment.tracking_number} already bought: handing it to TikTok again",
        )
        outbox_enqueue(
            task="shipping.complete_shipment",
            kwargs={"shipment_id": str(shipment.pk)},
            queue="integrations",
            key=f"complete-shipment:{shipment.pk}:{uuid.uuid4().hex[:12]}",
        )


def _reconcile(shipment: Shipment, *, label_format: str, actor) -> PurchaseResult | Problem | None:
    """Attempts whose outcome is unknown are settled with their carrier before buying again. A
    carrier that cannot say yet is a Problem with `stop`: buying elsewhere could make two labels."""
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
            return Problem(
                f"{attempt.carrier_account.name}: an earlier purchase cannot be confirmed yet "
                f"({exc.message}); nothing else is bought until it is.",
                retryable=True,
                stop=True,
            )
        if label is not None:
            return _record_bought(shipment=shipment, attempt=attempt, label=label, est_days=None, actor=actor)
        _finish_attempt(attempt, state=AttemptState.FAILED, error="Not bought (checked with the carrier)")
    return None


def _told(breaker, exc: CarrierError) -> None:
    """A failure that may pass counts against the breaker; a refusal is an answer, so a success."""
    if exc.retryable:
        breaker.record_failure()
    else:
        breaker.record_success()


def _rates(accounts, *, inputs, reference: str, problems: list[Problem]) -> tuple[list[Candidate], dict]:
    """Every allowed account's rates, and the breaker of each account asked (for `_try_buy` to
    report to: the one decision per account and run is taken here)."""
    candidates: list[Candidate] = []
    asked: dict = {}
    for ca in accounts:
        breaker = breaker_for(ca)
        if not breaker.allow():
            problems.append(
                Problem(
                    f"{ca.name}: circuit open after repeated failures, skipped.",
                    retryable=True,
                    wait=breaker.retry_in() or 1.0,
                )
            )
            continue
        try:
            rates = carrier_for(ca).rates(
                from_address=inputs.from_address,
                to_address=inputs.to_address,
                parcel=inputs.parcel,
                reference=reference,
            )
        except CarrierError as exc:
            _told(breaker, exc)
            problems.append(Problem(f"{ca.name}: no rates ({exc.message})", retryable=exc.retryable))
            continue
        breaker.record_success()
        asked[ca.pk] = breaker
        candidates.extend(Candidate(ca, rate) for rate in rates)
    return candidates, asked


def shipment_purchase(*, order_id, actor=None) -> PurchaseResult:
    """Buy the order's label (see the module docstring); safe to call again at any point.

    Must run with no transaction open (carriers are called). An automatic call for a shipment that
    waits and is not due yet changes nothing ("waiting"); a person's call tries at once.
    """
    order = Order.objects.select_related("account").filter(pk=order_id).first()
    if order is None:
        return PurchaseResult("skipped", error="No such order.")
    allowed = MANUAL_STATUSES if is_person(actor) else AUTOMATIC_STATUSES
    existing = Shipment.objects.filter(LIVE_SHIPMENT, order=order).first()
    if existing is not None and existing.status in DONE_STATUSES:
        if existing.status == ShipmentStatus.PURCHASED and order.status in allowed:
            _resume_handoff(shipment=existing, order=order, actor=actor)
        return PurchaseResult("bought", existing.pk)
    now = timezone.now()
    if (
        existing is not None
        and existing.status == ShipmentStatus.WAITING
        and not is_person(actor)
        and existing.retry_at is not None
        and existing.retry_at > now + EARLY_TOLERANCE
    ):
        return PurchaseResult("waiting", existing.pk, existing.wait_reason, retry_at=existing.retry_at)
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
    shipment = _claim(order, now=now)
    if shipment is None:
        return PurchaseResult("busy", error="Another worker is buying this label.")
    if shipment.status in DONE_STATUSES:
        return PurchaseResult("bought", shipment.pk)
    try:
        with beating(lambda: _renew_claim(shipment.pk)):
            result = _purchase_claimed(order, shipment, accounts=accounts, actor=actor, now=now)
    finally:
        _release(shipment)
    _tell_batches(order.pk)
    return result


def _purchase_claimed(order, shipment, *, accounts, actor, now) -> PurchaseResult:
    profile = ShippingProfile.objects.filter(account_id=order.account_id).first()
    label_format = profile.label_format if profile else "pdf"
    policy = profile.rate_policy if profile else "cheapest"
    if shipment.from_address and shipment.parcel:
        settled = _reconcile(shipment, label_format=label_format, actor=actor)
        if isinstance(settled, Problem):
            return _wait(shipment=shipment, order=order, problems=[settled], actor=actor, now=now)
        if settled is not None:
            return settled
    inputs = shipment_inputs(order, profile=profile)
    refusals = list(inputs.problems) or _verification_problems(accounts, inputs.to_address, profile)
    if refusals:
        return _fail(shipment=shipment, order=order, errors=refusals, actor=actor, kind=FailureKind.PERMANENT)
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
    problems: list[Problem] = []
    candidates, asked = _rates(accounts, inputs=inputs, reference=str(order.pk), problems=problems)
    ranked, _note = rank(candidates, policy=policy, order=order, now=now)
    if candidates and not ranked:
        problems.append(
            Problem(
                "No rate matches the rules: "
                + (f"pinned {order.preferred_carrier} {order.preferred_service}".strip() + "; ")
                + "check the carrier accounts' allowed services.",
                retryable=False,
            )
        )
    failed_accounts: set = set()
    for candidate in ranked:
        ca, rate = candidate.carrier_account, candidate.rate
        if ca.pk in failed_accounts:
            continue
        outcome = _try_buy(
            shipment, ca, rate, breaker=asked[ca.pk], inputs=inputs, label_format=label_format, actor=actor
        )
        if isinstance(outcome, PurchaseResult):
            return outcome
        problems.append(outcome)
        if outcome.stop:
            break
        failed_accounts.add(ca.pk)
    if any(p.retryable for p in problems):
        return _wait(shipment=shipment, order=order, problems=problems, actor=actor, now=now)
    errors = [p.text for p in problems] or ["No carrier offered a rate."]
    return _fail(shipment=shipment, order=order, errors=errors, actor=actor, kind=FailureKind.PERMANENT)


def _tell_batches(order_id) -> None:
    """A label batch waiting on this order's outcome learns it (after the outcome committed)."""
    from .batches import batch_items_refresh

    batch_items_refresh(order_id=order_id)


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


def _try_buy(
    shipment, ca, rate: Rate, *, breaker, inputs, label_format: str, actor
) -> PurchaseResult | Problem:
    """One attempt at one carrier: a PurchaseResult when bought, else the Problem for the creator.

    `breaker` already let this account through in `_rates`; it is only told the outcome here. A
    timeout is settled with `find_label` at once: a label found is a purchase (a success, however
    slow); none found is a failure; a lookup that fails too leaves the attempt unknown and stops
    the run (Problem.stop), so no second label is bought before it is settled.
    """
    name = f"{ca.name} ({rate.carrier} {rate.service})"
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
        _finish_attempt(attempt, state=AttemptState.UNKNOWN, error=exc.message)
        try:
            label = carrier.find_label(request)
        except CarrierError as again:
            breaker.record_failure()
            return Problem(
                f"{name}: timed out, and the purchase could not be confirmed yet ({again.message}); "
                "nothing else is bought until it is.",
                retryable=True,
                stop=True,
            )
        if label is None:
            breaker.record_failure()
            _finish_attempt(attempt, state=AttemptState.FAILED, error=exc.message)
            return Problem(f"{name}: {exc.message}", retryable=True)
    except CarrierError as exc:
        _told(breaker, exc)
        _finish_attempt(attempt, state=AttemptState.FAILED, error=exc.message)
        return Problem(f"{name}: {exc.message}", retryable=exc.retryable)
    breaker.record_success()
    attempt.carrier_account = ca
    return _record_bought(
        shipment=shipment, attempt=attempt, label=label, est_days=rate.est_days, actor=actor
    )
