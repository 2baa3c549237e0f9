"""What other apps may import from the inbox.

- `register_handler(provider, event_type="*")`: decorate a handler in ``<app>/inbox_handlers.py``.
- `InboundWebhookView`, `ParsedWebhook`, `BadPayload`: build a provider's webhook endpoint.
- `hmac_sha256_hex`, `signatures_match`, `body_sha256`, `load_json`: helpers for those endpoints.
- `InboundEventData`: what a handler receives.
- `inbox_store(...)`: store an event received some other way than over HTTP (a built-in sandbox).
- `webhook_stats(since=, provider=None) -> WebhookStats`: success rate and latency, for health.
"""

from .registry import ANY_TYPE, InboundEventData, register_handler
from .selectors import WebhookStats, webhook_stats
from .services import inbox_store
from .signatures import hmac_sha256_hex, signatures_match
from .views import BadPayload, InboundWebhookView, ParsedWebhook, body_sha256, load_json

__all__ = [
    "ANY_TYPE",
    "BadPayload",
    "InboundEventData",
    "InboundWebhookView",
    "ParsedWebhook",
    "body_sha256",
    "hmac_sha256_hex",
    "inbox_store",
    "load_json",
    "register_handler",
    "signatures_match",
    "WebhookStats",
    "webhook_stats",
]
