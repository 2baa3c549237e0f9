"""Which function handles which (provider, event type).

Apps register handlers at import time, in a module named ``inbox_handlers.py`` that the inbox imports
from every installed app when Django starts (see apps.InboxConfig.ready), so web processes and
workers always see the same registry:

    @register_handler("tiktok", "1")
    def order_status_changed(event: InboundEventData) -> None: ...

A handler receives a frozen `InboundEventData`, never the model. It runs outside any transaction (it
may call out to the platform) and at least once: a worker lost after the handler's own commit and
before the event is marked done runs it again, so handlers must be idempotent (upsert by the
platform's ids, never "add one"). Raising marks the attempt failed and schedules a retry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

ANY_TYPE = "*"


@dataclass(frozen=True)
class InboundEventData:
    id: int
    provider: str
    external_id: str
    event_type: str
    body: bytes
    headers: dict = field(default_factory=dict)
    received_at: datetime | None = None
    attempts: int = 0
    source: str = ""  # the provider-side owner the endpoint recorded (ParsedWebhook.source)

    def json(self):
        """The body parsed as JSON. Handlers that need big integer ids as strings parse `body` themselves."""
        return json.loads(self.body)


Handler = Callable[[InboundEventData], None]

_handlers: dict[tuple[str, str], Handler] = {}


def register_handler(provider: str, event_type: str = ANY_TYPE) -> Callable[[Handler], Handler]:
    """Decorator: `fn` handles `provider` events of `event_type` ("*" = every type without its own).

    Registering a second, different function for the same pair is a programming error and raises:
    silently replacing a handler would make processing depend on import order.
    """
    key = (provider, str(event_type))

    def decorator(fn: Handler) -> Handler:
        existing = _handlers.get(key)
        if existing is not None and _qualname(existing) != _qualname(fn):
            raise ValueError(f"{provider}/{event_type} already handled by {_qualname(existing)}")
        _handlers[key] = fn
        return fn

    return decorator


def handler_for(provider: str, event_type: str) -> Handler | None:
    """The exact handler for the type, else the provider's "*" handler, else None (event is ignored)."""
    return _handlers.get((provider, event_type)) or _handlers.get((provider, ANY_TYPE))


def _qualname(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"
