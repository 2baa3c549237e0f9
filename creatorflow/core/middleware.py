"""Request plumbing that keeps answers fast and plain when a dependency is down.

- `DeferDispatchMiddleware`: inside a request, rows that need a broker message are left for the
  relay (creatorflow.outbox.publishing.defer_dispatch), so no answer ever waits on the broker.
- `DatabaseUnavailableMiddleware`: with the database down, a webhook or API caller gets 503 with
  `Retry-After` and the JSON error shape, a person gets a plain "temporarily unavailable" page, and
  the log gets one line per request instead of a traceback. It connects up front (cheap: a reused
  connection is only health-checked, as Django would on first use anyway), and catches a database
  that fails mid-request in the view (`process_exception`) or in a later middleware (`server_error`,
  the 500 handler, which sees the exception being handled).
"""

from __future__ import annotations

import json
import logging
import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django.views.defaults import server_error as django_server_error

from creatorflow.outbox.publishing import defer_dispatch

logger = logging.getLogger("creatorflow.unavailable")

RETRY_AFTER_SECONDS = 15
MACHINE_PREFIXES = ("/api/", "/webhooks/")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Temporarily unavailable · CreatorFlow</title>
<link rel="stylesheet" href="{static}css/app.css"></head>
<body class="unavailable-page">
<h1>CreatorFlow is temporarily unavailable</h1>
<p>We can't reach our database right now. Nothing you sent is lost: orders keep arriving and are
picked up as soon as we're back, usually within a minute or two.</p>
<p>Please try again shortly.</p>
</body></html>
"""


class DeferDispatchMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with defer_dispatch():
            return self.get_response(request)


def is_database_down(exc: BaseException | None) -> bool:
    """A failure to reach or keep the database (connection refused, server gone, admin shutdown),
    as opposed to a bad query, which stays a 500."""
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DatabaseError) and isinstance(exc.__cause__, (OperationalError, InterfaceError))
    )


def unavailable_response(request, exc: BaseException) -> HttpResponse:
    logger.warning(
        "database unavailable: %s %s answered 503 (%s)", request.method, request.path, type(exc).__name__
    )
    if request.path.startswith(MACHINE_PREFIXES):
        body = {
            "error": {
                "code": "service_unavailable",
                "message": "The service is temporarily unavailable; try again shortly.",
                "fields": {},
            }
        }
        response = HttpResponse(json.dumps(body), status=503, content_type="application/json")
    else:
        page = _PAGE.replace("{static}", settings.STATIC_URL or "/static/")
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    response._has_been_logged = True  # our one line is the log; Django's would add a traceback
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            connection.close_if_health_check_failed()
            connection.ensure_connection()
        except DatabaseError as exc:
            if not is_database_down(exc):
                raise
            connection.close()
            return unavailable_response(request, exc)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_down(exception):
            return unavailable_response(request, exception)
        return None


def server_error(request, *args, **kwargs):
    """handler500: a database that went away inside a middleware is a 503 like any other."""
    exc = sys.exc_info()[1]
    if is_database_down(exc):
        return unavailable_response(request, exc)
    return django_server_error(request, *args, **kwargs)
