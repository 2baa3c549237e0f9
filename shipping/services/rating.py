"""Rate shopping: which of the rates the account's carriers offered to try first, and which not at all.

Policies (ShippingProfile.rate_policy): cheapest; fastest; cheapest that arrives before TikTok's
delivery deadline (falling back to the fastest when none would). A rule's pinned carrier/service
(Order.preferred_carrier / preferred_service) and each carrier account's allowed services filter
the rates before ranking. Ties go to the carrier account's preference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..carriers.base import Rate
from ..models import RatePolicy


@dataclass(frozen=True)
class Candidate:
    carrier_account: object  # CarrierAccount
    rate: Rate


def _norm(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum())


def service_allowed(allowed: list, rate: Rate) -> bool:
    """`allowed` holds "CARRIER" or "CARRIER:service" entries; empty allows everything."""
    if not allowed:
        return True
    for entry in allowed:
        carrier, _, service = str(entry).partition(":")
        if _norm(carrier) == _norm(rate.carrier) and (not service or _norm(service) == _norm(rate.service)):
            return True
    return False


def matches_pin(rate: Rate, *, carrier: str, service: str) -> bool:
    if carrier and _norm(carrier) != _norm(rate.carrier):
        return False
    return not service or _norm(service) in _norm(rate.service)


def add_business_days(start: datetime, days: int) -> datetime:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def arrives_by(rate: Rate, *, now: datetime, deadline: datetime | None) -> bool:
    if deadline is None:
        return True
    if rate.est_days is None:
        return False
    return add_business_days(now, rate.est_days) <= deadline


def rank(candidates: list[Candidate], *, policy: str, order, now: datetime) -> tuple[list[Candidate], str]:
    """The candidates in the order to try them, and a note for the timeline when a fallback applied."""
    pinned = [
        c
        for c in candidates
        if matches_pin(c.rate, carrier=order.preferred_carrier, service=order.preferred_service)
        and service_allowed(c.carrier_account.services_allowed or [], c.rate)
    ]

    def pref(c: Candidate) -> int:
        return c.carrier_account.preference

    def by_price(c: Candidate):
        return (c.rate.amount, c.rate.est_days if c.rate.est_days is not None else 99, pref(c))

    def by_speed(c: Candidate):
        return (c.rate.est_days if c.rate.est_days is not None else 99, c.rate.amount, pref(c))

    if policy == RatePolicy.FASTEST:
        return sorted(pinned, key=by_speed), ""
    if policy == RatePolicy.CHEAPEST_ON_TIME:
        deadline = order.delivery_due_time
        on_time = [c for c in pinned if arrives_by(c.rate, now=now, deadline=deadline)]
        late = [c for c in pinned if c not in on_time]
        note = (
            ""
            if on_time or not pinned
            else "No rate arrives before TikTok's delivery deadline: fastest first."
        )
        return sorted(on_time, key=by_price) + sorted(late, key=by_speed), note
    return sorted(pinned, key=by_price), ""
