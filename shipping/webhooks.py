"""Carrier tracking webhooks: verify on the raw body, store once through the inbox, answer.

Every carrier account has its own webhook URL token (stored hashed) and, where the provider signs,
its own secret (services/webhook_credentials.py); the URL names the account, and an event applies
only to that account's shipments (CONTRACT.md §3):

- `POST /webhooks/carriers/easypost/?token=<token>`: `X-Hmac-Signature: hmac-sha256-hex=<hex>`, the
  HMAC-SHA256 of the raw body keyed with that account's NFKD-normalised webhook secret.
- `POST /webhooks/carriers/shippo/?token=<token>`: the token alone authenticates (compared in
  constant time); Shippo sends no event id, so the body's SHA-256 is the dedupe key.
- `POST /webhooks/carriers/sandbox/?token=<token>`: the built-in sandbox carrier, signed like EasyPost.

The event's `source` is the carrier account id, and its dedupe key is scoped to that account, so one
tenant can neither apply an event to another's parcels nor pre-empt another's event id. Processing
(matching the tracking number to that account's shipment) is in shipping/inbox_handlers.py.
"""

from __future__ import annotations

import unicodedata

from creatorflow.inbox.facade import (
    BadPayload,
    InboundWebhookView,
    ParsedWebhook,
    body_sha256,
    hmac_sha256_hex,
    load_json,
    signatures_match,
)

from .models import Provider
from .services.webhook_credentials import carrier_account_for_webhook

SIGNATURE_PREFIX = "hmac-sha256-hex="


def easypost_signature(secret: str, body: bytes) -> str:
    """The `X-Hmac-Signature` value EasyPost sends for `body`."""
    key = unicodedata.normalize("NFKD", secret)
    return SIGNATURE_PREFIX + hmac_sha256_hex(key, body)


def _event_object(body: bytes) -> dict:
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise BadPayload("a carrier webhook is a JSON object")
    return payload


class CarrierWebhookView(InboundWebhookView):
    """The URL's token names the carrier account; providers that sign are checked with its secret."""

    provider_choice: str = ""
    signed = True

    def verify_signature(self, request, body: bytes) -> bool:
        carrier_account = carrier_account_for_webhook(
            provider=self.provider_choice, token=request.GET.get("token", "")
        )
        if carrier_account is None:
            return False
        if self.signed:
            secret = carrier_account.webhook_secret
            if not secret:  # an empty key would let anyone sign
                return False
            if not signatures_match(
                easypost_signature(secret, body), request.headers.get("X-Hmac-Signature")
            ):
                return False
        request.carrier_account_id = str(carrier_account.pk)
        return True

    def event_id(self, payload: dict, body: bytes) -> str:
        event_id = payload.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise BadPayload("an Event has an id")
        return event_id

    def event_type(self, payload: dict) -> str:
        return str(payload.get("description") or "")

    def parse(self, request, body: bytes) -> ParsedWebhook:
        payload = _event_object(body)
        account_id = request.carrier_account_id
        return ParsedWebhook(
            external_id=f"{account_id}:{self.event_id(payload, body)}",
            event_type=self.event_type(payload)[:100],
            source=account_id,
        )


class EasyPostWebhookView(CarrierWebhookView):
    provider = "easypost"
    provider_choice = Provider.EASYPOST


class SandboxCarrierWebhookView(CarrierWebhookView):
    provider = "sandbox_carrier"
    provider_choice = Provider.SANDBOX


class ShippoWebhookView(CarrierWebhookView):
    provider = "shippo"
    provider_choice = Provider.SHIPPO
    signed = False

    def event_id(self, payload: dict, body: bytes) -> str:
        return body_sha256(body)

    def event_type(self, payload: dict) -> str:
        return str(payload.get("event") or "")
