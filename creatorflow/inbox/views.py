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
unique constraint) and left for the relay to send. A duplicate gets exactly the answer the first
delivery got, so a platform retrying after a timeout sees success and stops.

Hostile requests are refused here, once for every provider, and never stored (CONTRACT.md §3): a body
over MAX_BODY_BYTES (refused from Content-Length before it is read, and never read past the limit),
JSON nested deeper than MAX_JSON_DEPTH, or text PostgreSQL cannot store (a NUL character, or a lone
surrogate, which has no UTF-8 form) anywhere in the body's keys or strings, in the query string or in
a header we keep is a 400; a body sent as something other than JSON is a 415. Every refusal is a JSON
`{"error": ...}`. Such an event could only ever fail, on every retry, so it must not be accepted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .services import inbox_store

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64


class BadPayload(Exception):
    """The body is authentic but unusable (not JSON, no id…): answered with `bad_payload_status`."""


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over MAX_BODY_BYTES (read at most one byte past the limit)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def storable_text(value: str) -> bool:
    """False for text PostgreSQL cannot hold: a NUL character, or a lone surrogate (JSON's "\\ud800"
    decodes to one, and it has no UTF-8 encoding)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Pairs(list):
    """A JSON object as the list of its (key, value) pairs, so a repeated key is checked too."""


def json_problem(body: bytes) -> str | None:
    """Why a body that parses as JSON cannot be an event we store, or None. Iterative, so a body
    nested thousands deep cannot exhaust the stack; a body that is not JSON is left to the
    provider's own parser (its answer for "not JSON" stays the provider's). Integers are read as
    their digits, so an integer too long for Python's int parser cannot switch these checks off."""
    if b"\x00" in body:
        return "NUL byte in the body"
    try:
        document = json.loads(body, parse_int=str, object_pairs_hook=_Pairs)
    except RecursionError:
        return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    except (ValueError, UnicodeDecodeError):
        return None
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not storable_text(value):
                return "NUL character or lone surrogate in the JSON"
        elif isinstance(value, list):
            if depth > MAX_JSON_DEPTH:
                return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(value, _Pairs):
                for key, item in value:
                    if not storable_text(key):
                        return "NUL character or lone surrogate in the JSON"
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)
    return None


def is_json_media_type(content_type: str) -> bool:
    """application/json (any parameters), a `+json` type, or none given. A sender that gives none
    (a bare HTTP client: our sandboxes and benches) reaches Django as text/plain behind wsgiref-based
    servers, which cannot be told apart, so text/plain is taken too; form and other types are not."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in ("", "application/json", "text/plain") or media_type.endswith("+json")


def refuse(status: int, error: str) -> JsonResponse:
    return JsonResponse({"error": error}, status=status)


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
        body = _read_body(request)
        if body is None:
            return refuse(400, "body over 1 MB")
        if not all(storable_text(k) and all(map(storable_text, vs)) for k, vs in request.GET.lists()):
            return refuse(400, "NUL character in the query string")
        if not self.verify_signature(request, body):
            return refuse(self.bad_signature_status, "bad or missing signature")
        if not is_json_media_type(request.content_type or ""):
            return refuse(415, "the body must be sent as application/json")
        headers = self.stored_headers(request)
        if not all(storable_text(key) and storable_text(value) for key, value in headers.items()):
            return refuse(400, "NUL character in a header")
        problem = json_problem(body)
        if problem:
            return refuse(400, problem)
        try:
            parsed = self.parse(request, body)
        except BadPayload as exc:
            return refuse(self.bad_payload_status, str(exc) or "unusable body")
        except RecursionError:
            return refuse(self.bad_payload_status, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if not parsed.external_id or len(parsed.external_id) > 255:
            return refuse(self.bad_payload_status, "no usable event id")
        if not all(map(storable_text, (parsed.external_id, parsed.event_type, parsed.source))):
            return refuse(self.bad_payload_status, "NUL character in the event id, type or source")
        _event, created = inbox_store(
            provider=self.provider,
            external_id=parsed.external_id,
            event_type=parsed.event_type,
            source=parsed.source,
            body=body,
            headers=headers,
        )
        return self.acknowledge(request, parsed, created=created)
