"""The base for every inbound webhook endpoint: verify, store once, answer fast.

A provider's endpoint subclasses `InboundWebhookView` and fills in two hooks::

    class TikTokWebhookView(InboundWebhookView):
        provider = "tiktok"
        bad_signature_status = 401

        def verify_signature(self, request, body):
            expected = hmac_sha256_hex(settings.TIKTOK_APP_SECRET, settings.TIKTOK_APP_KEY.encode() + body)
            return signatures_match(expected, request.headers.get("Authorization", ""))

        def parse(self, request, body):
            payload = load_json(body)
            return ParsedWebhook(external_id=payload.get("tts_notification_id") or body_sha256(body),
                                 event_type=str(payload.get("type", "")))

The request does no outbound call and no processing: the event is stored (once, thanks to the
unique constraint) and a task is dispatched after commit. A duplicate gets exactly the answer the
first delivery got, so a platform retrying after a timeout sees success and stops.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .services import inbox_store


class BadPayload(Exception):
    """The body is authentic but unusable (not JSON, no id…): answered with `bad_payload_status`."""


@dataclass(frozen=True)
class ParsedWebhook:
    external_id: str
    event_type: str
    source: str = ""  # the provider-side owner (e.g. TikTok shop id), so events can be shown per tenant


def body_sha256(body: bytes) -> str:
    """The dedupe key of last resort: a provider that sends no event id is deduplicated on its body."""
    return hashlib.sha256(body).hexdigest()


def load_json(body: bytes):
    """Parse a JSON body or raise BadPayload. Ids above 2^53 survive because Python ints are exact."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("body is not JSON") from exc


@method_decorator(csrf_exempt, name="dispatch")
class InboundWebhookView(View):
    """POST only, CSRF-exempt (the signature is the authentication). Subclasses set `provider` and
    implement `verify_signature` and `parse`; they may override `acknowledge` for a custom answer."""

    provider: str = ""
    http_method_names = ["post"]
    bad_signature_status = 401
    bad_payload_status = 400
    # Never stored: a browser cookie has no business in a webhook and may carry a session.
    excluded_headers = frozenset({"cookie"})

    def verify_signature(self, request: HttpRequest, body: bytes) -> bool:
        """True when `body` (the exact bytes received) is authentic. Compare in constant time."""
        raise NotImplementedError

    def parse(self, request: HttpRequest, body: bytes) -> ParsedWebhook:
        """The event's dedupe id and type, from the verified body. Raise BadPayload to answer 400."""
        raise NotImplementedError

    def acknowledge(self, request: HttpRequest, parsed: ParsedWebhook, *, created: bool) -> HttpResponse:
        """The answer for a stored event, the same for the first delivery and every duplicate."""
        return HttpResponse(status=200)

    def stored_headers(self, request: HttpRequest) -> dict[str, str]:
        return {k: v for k, v in request.headers.items() if k.lower() not in self.excluded_headers}

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not self.provider:
            raise NotImplementedError(f"{type(self).__name__} must set `provider`.")
        body = request.body
        if not self.verify_signature(request, body):
            return HttpResponse(status=self.bad_signature_status)
        try:
            parsed = self.parse(request, body)
        except BadPayload:
            return HttpResponse(status=self.bad_payload_status)
        if not parsed.external_id or len(parsed.external_id) > 255:
            return HttpResponse(status=self.bad_payload_status)
        _event, created = inbox_store(
            provider=self.provider,
            external_id=parsed.external_id,
            event_type=parsed.event_type,
            source=parsed.source,
            body=body,
            headers=self.stored_headers(request),
        )
        return self.acknowledge(request, parsed, created=created)
