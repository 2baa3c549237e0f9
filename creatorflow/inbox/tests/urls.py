"""A test-only URLconf: a webhook endpoint built on the inbox's base view, signed like TikTok's."""

from django.urls import path

from creatorflow.inbox.facade import (
    BadPayload,
    InboundWebhookView,
    ParsedWebhook,
    hmac_sha256_hex,
    load_json,
    signatures_match,
)

SECRET = "test-webhook-secret"
SIGNATURE_HEADER = "X-Test-Signature"


def sign(body: bytes) -> str:
    return hmac_sha256_hex(SECRET, body)


class TestWebhookView(InboundWebhookView):
    provider = "test"

    def verify_signature(self, request, body):
        return signatures_match(sign(body), request.headers.get(SIGNATURE_HEADER))

    def parse(self, request, body):
        payload = load_json(body)
        if not isinstance(payload, dict) or "id" not in payload:
            raise BadPayload("no id")
        return ParsedWebhook(external_id=str(payload["id"]), event_type=str(payload.get("type", "")))


urlpatterns = [path("webhooks/test/", TestWebhookView.as_view(), name="test-webhook")]
