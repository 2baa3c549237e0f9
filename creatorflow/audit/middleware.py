"""Records each request's origin for the audit log (see `creatorflow.audit.context`)."""

from __future__ import annotations

from .context import _current, context_from_request


class AuditContextMiddleware:
    """Sets the audit context (IP, user agent, request id) for the request and clears it after.

    Also exposes `request.request_id` and echoes it as the `X-Request-ID` response header, so a
    creator's support question can be matched to the audit rows and logs of that request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = context_from_request(request)
        request.request_id = context.request_id
        token = _current.set(context)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response.headers.setdefault("X-Request-ID", context.request_id)
        return response
