"""What other apps (the dashboard) may use from health: plain, frozen values only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .access import health_body_for, may_see_health_details
from .selectors import latest_record

__all__ = ["health_body_for", "latest_health", "may_see_health_details"]


@dataclass(frozen=True)
class CheckSummary:
    name: str
    label: str
    status: str
    detail: str


LABELS = {
    "database": "Database",
    "redis": "Redis",
    "celery": "Background jobs",
    "tiktok": "TikTok Shop API",
    "carriers": "Carriers",
    "webhooks": "Webhooks (last hour)",
    "relay": "Sending queued work",
}


@dataclass(frozen=True)
class HealthSummary:
    status: str
    recorded_at: datetime
    checks: tuple[CheckSummary, ...]


# Checks whose detail is a count over every account (queue depth, webhook totals): only staff see
# it; a creator sees the check's status. TikTok keeps its circuit, the relay its reason, not counts.
PLATFORM_COUNTS = {"celery", "webhooks"}


def _detail(name: str, check: dict, *, details: bool = True) -> str:
    if check.get("error"):
        return f"error: {check['error']}"
    if not details:
        if name == "tiktok":
            return f"circuit {check.get('circuit', 'unknown')}"
        if name == "relay":
            return check.get("reason") or ""
        if name in PLATFORM_COUNTS:
            return ""
    if name == "database" and check.get("latency_ms") is not None:
        return f"{check['latency_ms']} ms"
    if name == "redis":
        if not check.get("configured", True):
            return "not configured"
        return f"{check['latency_ms']} ms" if check.get("latency_ms") is not None else ""
    if name == "celery" and check.get("queue_depth") is not None:
        return f"{check['queue_depth']} queued"
    if name == "tiktok":
        calls = check.get("calls_15m")
        errors = check.get("call_error_rate")
        traffic = f", {calls} calls/15 min ({errors:.0%} failed)" if calls else ""
        return f"circuit {check.get('circuit', 'unknown')}{traffic}"
    if name == "carriers":
        circuits = check.get("circuits") or {}
        not_closed = [f"{n} {s}" for n, s in circuits.items() if s != "closed"]
        return ", ".join(not_closed) or ("all circuits closed" if circuits else "no carrier calls yet")
    if name == "webhooks":
        if check.get("success_rate") is None:
            return "none received"
        latency = f", {check['avg_latency_ms']:.0f} ms avg" if check.get("avg_latency_ms") is not None else ""
        dead = f", {check['dead']} dead" if check.get("dead") else ""
        return f"{check['success_rate']:.1%} ok{latency}{dead}"
    if name == "relay":
        return check.get("reason") or f"{check.get('relays', 0)} running"
    return ""


def latest_health(*, details: bool = False) -> HealthSummary | None:
    """The latest recorded run of the checks, or None when beat has not recorded one yet.

    Without `details` (anyone but staff) no detail carries a count over other accounts' activity.
    """
    record = latest_record()
    if record is None:
        return None
    checks = tuple(
        CheckSummary(
            name=name,
            label=LABELS.get(name, name.capitalize()),
            status=str(check.get("status", "unknown")),
            detail=_detail(name, check, details=details),
        )
        for name, check in (record.checks or {}).items()
    )
    return HealthSummary(status=record.status, recorded_at=record.created_at, checks=checks)
