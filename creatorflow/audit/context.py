"""Where an action came from (IP, user agent, request id), carried by a context variable.

Services are called with domain arguments, not the HTTP request; `AuditContextMiddleware` puts the
request's origin here for the duration of the request so `audit_log` can record it without every
service threading the request through. Celery tasks and commands may set their own with
`audit_context(actor_label="celery")`. A `ContextVar` is per thread and per asyncio task, so
concurrent requests never see each other's context.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from creatorflow.core.net import client_ip

USER_AGENT_MAX = 500
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class AuditContext:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""
    actor_label: str = ""  # default actor label when the service passes no user (e.g. "celery")


_current: ContextVar[AuditContext | None] = ContextVar("creatorflow_audit_context", default=None)


def current_context() -> AuditContext | None:
    return _current.get()


@contextmanager
def audit_context(**fields) -> Iterator[AuditContext]:
    """Set the audit context for the block (restored afterwards, also on error)."""
    context = AuditContext(**fields)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def request_id_for(request) -> str:
    """The caller's X-Request-ID when it looks sane (so logs correlate across services), else new."""
    candidate = request.META.get("HTTP_X_REQUEST_ID", "")
    return candidate if _REQUEST_ID.match(candidate) else uuid.uuid4().hex


def context_from_request(request) -> AuditContext:
    request_id = getattr(request, "request_id", None) or request_id_for(request)
    return AuditContext(
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
        request_id=request_id,
    )
