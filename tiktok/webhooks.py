"""`POST /webhooks/tiktok/`: verify TikTok's signature on the raw body, store the event once, answer.

The base view (creatorflow.inbox.views) does the storing and the answer; this module only knows
TikTok's rules (CONTRACT.md §3): `Authorization` = hex HMAC-SHA256(app_secret, app_key + body),
dedupe on `tts_notification_id` (else the body's SHA-256), the event type is the `type` number and
the source is the shop id, so the Shops page can show a creator their own events only. Nothing
here calls out or processes: the inbox task does that after commit.

An event whose handler could never store what it names (an order or product id longer than our
64-character columns, an `update_time` beyond a 64-bit integer or infinite) is refused with a 400
rather than accepted and then failed on every retry.
"""

from __future__ import annotations

import json

from django.conf import settings

from creatorflow.inbox.facade import BadPayload, InboundWebhookView, ParsedWebhook, body_sha256

from .signing import signatures_match, webhook_sign

MAX_ID_CHARS = 64  # PendingOrderFetch.order_id, CatalogLink.tiktok_product_id
MAX_UPDATE_TIME = 2**63 - 1  # a BIGINT column


def _storable_update_time(value) -> bool:
    """The handlers read `update_time` as an int, taking anything that is not one as 0."""
    try:
        return int(value) <= MAX_UPDATE_TIME
    except (TypeError, ValueError):
        return True
    except OverflowError:  # Infinity
        return False


def unstorable_data(payload: dict) -> str | None:
    """Why the handlers could not store what `data` names, or None."""
    data = payload.get("data")
    if not isinstance(data, dict):
        return None
    for key in ("order_id", "product_id"):
        value = data.get(key)
        if value is not None and len(str(value).strip()) > MAX_ID_CHARS:
            return f"data.{key} is longer than {MAX_ID_CHARS} characters"
    if not _storable_update_time(data.get("update_time")):
        return "data.update_time is not a 64-bit integer"
    return None


def parse_exact(body: bytes):
    """JSON with every integer kept as its digits: shop and order ids may exceed 2^53."""
    try:
        return json.loads(body, parse_int=str)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("body is not JSON") from exc


class TikTokWebhookView(InboundWebhookView):
    provider = "tiktok"
    bad_signature_status = 401

    def verify_signature(self, request, body: bytes) -> bool:
        """Constant-time check; with no app secret configured every request is refused (an empty
        HMAC key would let anyone who knows the app key sign)."""
        secret = settings.TIKTOK_APP_SECRET
        if not secret:
            return False
        expected = webhook_sign(app_key=settings.TIKTOK_APP_KEY, app_secret=secret, body=body)
        return signatures_match(expected, request.headers.get("Authorization"))

    def parse(self, request, body: bytes) -> ParsedWebhook:
        payload = parse_exact(body)
        event_type = payload.get("type") if isinstance(payload, dict) else None
        if event_type in (None, "") or isinstance(event_type, (dict, list, bool)):
            raise BadPayload("a TikTok webhook is a JSON object with a type")
        problem = unstorable_data(payload)
        if problem:
            raise BadPayload(problem)
        notification_id = payload.get("tts_notification_id")
        external_id = str(notification_id) if notification_id not in (None, "") else body_sha256(body)
        shop_id = payload.get("shop_id")
        return ParsedWebhook(
            external_id=external_id,
            event_type=str(event_type)[:100],
            source="" if shop_id is None else str(shop_id)[:100],
        )
