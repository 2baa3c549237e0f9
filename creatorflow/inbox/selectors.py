"""Reads over the inbox: how webhook intake is doing, for the health check and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q

from .models import InboundEvent, InboundEventStatus


@dataclass(frozen=True)
class WebhookStats:
    """Events received since `since`. `success_rate` is None until some event has finished."""

    since: datetime
    received: int
    done: int
    failed: int
    dead: int
    success_rate: float | None
    avg_latency_ms: float | None


def webhook_stats(
    *, since: datetime, provider: str | None = None, sources: list[str] | None = None
) -> WebhookStats:
    """Counts by outcome and the mean time from receipt to done, in one aggregate query.

    Events still waiting or in progress count as received but not in the rate: the rate says how
    many of the finished attempts succeeded. Failed (retrying) events count against it until they
    succeed, so a dependency outage shows while it lasts.
    """
    events = InboundEvent.objects.filter(received_at__gte=since)
    if provider:
        events = events.filter(provider=provider)
    if sources is not None:  # one tenant's events only (e.g. the TikTok shop ids of an account)
        events = events.filter(source__in=sources)
    status = InboundEventStatus
    totals = events.aggregate(
        received=Count("pk"),
        done=Count("pk", filter=Q(status=status.DONE)),
        failed=Count("pk", filter=Q(status=status.FAILED)),
        dead=Count("pk", filter=Q(status=status.DEAD)),
        latency=Avg(
            ExpressionWrapper(F("processing_finished_at") - F("received_at"), output_field=DurationField()),
            filter=Q(status=status.DONE, processing_finished_at__isnull=False),
        ),
    )
    finished = totals["done"] + totals["failed"] + totals["dead"]
    latency = totals["latency"]
    if isinstance(latency, (int, float)):  # some backends average durations as microseconds
        latency = timedelta(microseconds=latency)
    return WebhookStats(
        since=since,
        received=totals["received"],
        done=totals["done"],
        failed=totals["failed"],
        dead=totals["dead"],
        success_rate=round(totals["done"] / finished, 4) if finished else None,
        avg_latency_ms=round(latency.total_seconds() * 1000, 1) if latency is not None else None,
    )
