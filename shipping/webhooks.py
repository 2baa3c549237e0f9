"""Carrier tracking webhooks: verify on the raw body, store once through the inbox, answer.

- `POST /webhooks/carriers/easypost/`: `X-Hmac-Signature: hmac-sha256-hex=<hex>`, the HMAC-SHA256 of
  the raw body keyed with the NFKD-normalised `EASYPOST_WEBHOOK_SECRET`; dedupe on the Event `id`.
- `POST /webhooks/carriers/shippo/?token=<per-carrier-account token>`: the token is looked up and
  compared in constant time; Shippo sends no event id, so the body's SHA-256 is the dedupe key.
- `POST /webhooks/carriers/sandbox/`: the built-in sandbox carrier's tracking events, signed like
  EasyPost's with a key derived from SECRET_KEY (`sandbox_webhook_secret`).

Processing (matching the tracking number to our shipment) happens in shipping/inbox_handlers.py.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from django.conf import settings

from creatorflow.inbox.facade import (
    BadPayload,
    InboundWebhookView,
    ParsedWebhook,
    body_sha256,
    hmac_sha256_hex,
    load_json,
    signatures_match,
)

from .models import CarrierAccount, Provider

SIGNATURE_PREFIX = "hmac-sha256-hex="


def easypost_signature(secret: str, body: bytes) -> str:
    """The `X-Hmac-Signature` value EasyPost sends for `body`."""
    key = unicodedata.normalize("NFKD", secret)
    return SIGNATURE_PREFIX + hmac_sha256_hex(key, body)


def sandbox_webhook_secret() -> str:
    return hmac.new(settings.SECRET_KEY.encode(), b"shipping-sandbox-webhooks", hashlib.sha256).hexdigest()


def _event_object(body: bytes) -> dict:
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise BadPayload("a carrier webhook is a JSON object")
    return payload


class EasyPostWebhookView(InboundWebhookView):
    provider = "easypost"
    secret_setting = "EASYPOST_WEBHOOK_SECRET"

    def secret(self) -> str:
        return getattr(settings, self.secret_setting, "")

    def verify_signature(self, request, body: bytes) -> bool:
        secret = self.secret()
        if not secret:  # an empty key would let anyone sign
            return False
        return signatures_match(easypost_signature(secret, body), request.headers.get("X-Hmac-Signature"))

    def parse(self, request, body: bytes) -> ParsedWebhook:
        payload = _event_object(body)
        event_id = payload.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise BadPayload("an EasyPost Event has an id")
        return ParsedWebhook(external_id=event_id, event_type=str(payload.get("description") or ""))


class SandboxCarrierWebhookView(EasyPostWebhookView):
    provider = "sandbox_carrier"

    def secret(self) -> str:
        return sandbox_webhook_secret()


class ShippoWebhookView(InboundWebhookView):
    provider = "shippo"

    def verify_signature(self, request, body: bytes) -> bool:
        token = request.GET.get("token", "")
        if not token or len(token) > 64:
            return False
        found = (
            CarrierAccount.objects.filter(provider=Provider.SHIPPO, webhook_token=token)
            .values_list("webhook_token", "account_id")
            .first()
        )
        # The lookup narrows; the constant-time compare is what accepts.
        if found is None or not hmac.compare_digest(found[0].encode(), token.encode()):
            return False
        request.shippo_account_id = str(found[1])
        return True

    def parse(self, request, body: bytes) -> ParsedWebhook:
        payload = _event_object(body)
        return ParsedWebhook(
            external_id=body_sha256(body),
            event_type=str(payload.get("event") or ""),
            source=getattr(request, "shippo_account_id", ""),
        )
