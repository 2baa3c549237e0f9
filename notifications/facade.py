"""The only module other apps import from notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import selectors
from .models import Severity
from .services import notify

__all__ = ["NotificationSummary", "Severity", "latest_notifications", "notify", "unread_count"]


@dataclass(frozen=True)
class NotificationSummary:
    id: str
    kind: str
    severity: str
    title: str
    body: str
    link: str
    created_at: datetime
    is_read: bool


def unread_count(*, account, user) -> int:
    return selectors.notification_unread_count(account=account, user=user)


def latest_notifications(*, account, user, limit: int = 5) -> list[NotificationSummary]:
    """The member's newest notifications in `account`, read or not."""
    if account is None:
        return []
    rows = selectors.notification_list(account=account, user=user)[:limit]
    return [
        NotificationSummary(
            id=str(n.pk),
            kind=n.kind,
            severity=n.severity,
            title=n.title,
            body=n.body,
            link=n.link,
            created_at=n.created_at,
            is_read=n.is_read,
        )
        for n in rows
    ]
