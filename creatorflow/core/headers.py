"""Security headers on every response: Content-Security-Policy, Permissions-Policy and, for what must
never sit in a shared or on-disk cache, ``Cache-Control: private, no-store``.

Django 5.2 has no CSP of its own, so this middleware adds it. The policy (settings
``CONTENT_SECURITY_POLICY``) allows scripts and styles from our own origin only: no inline code and
no eval. The templates keep to that — behaviour lives in ``static/js/app.js`` behind data attributes,
and htmx is told not to insert its indicator ``<style>`` (``templates/base.html``).

It sits just inside ``SecurityMiddleware`` and outside everything else, so it also sees the
responses WhiteNoise, the database-down page and axes answer with. A view may set its own policy
header; that one is kept.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

PRIVATE_NO_STORE = "private, no-store"
# Documents a person downloads from their account: never cached, whoever asked.
PRIVATE_CONTENT_TYPES = ("application/pdf", "text/csv")


def _content_type(response) -> str:
    return response.get("Content-Type", "").split(";", 1)[0].strip().lower()


def _cache_directives(response) -> set[str]:
    header = response.get("Cache-Control", "")
    return {part.split("=", 1)[0].strip().lower() for part in header.split(",") if part.strip()}


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = settings.CONTENT_SECURITY_POLICY
        self.permissions_policy = settings.PERMISSIONS_POLICY
        static_url = settings.STATIC_URL or ""
        # A STATIC_URL on another host (a CDN) is not served through here.
        self.static_prefix = urlsplit(static_url).path if not urlsplit(static_url).netloc else None

    def __call__(self, request):
        response = self.get_response(request)
        if self.csp and not self._debug_error_page(response):
            response.setdefault("Content-Security-Policy", self.csp)
        if self.permissions_policy:
            response.setdefault("Permissions-Policy", self.permissions_policy)
        if self._must_not_be_stored(request, response):
            self._make_private(response)
        return response

    def _debug_error_page(self, response) -> bool:
        # Django's technical 404/500 pages are inline styles and scripts; only shown when DEBUG.
        return settings.DEBUG and response.status_code in (404, 500)

    def _must_not_be_stored(self, request, response) -> bool:
        if self.static_prefix and request.path.startswith(self.static_prefix):
            return False
        if _content_type(response) in PRIVATE_CONTENT_TYPES:
            return True
        # After the view: DRF's token authentication sets request.user too. A request WhiteNoise
        # answered never reached AuthenticationMiddleware and has no user.
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)

    def _make_private(self, response) -> None:
        if {"private", "no-store"} <= _cache_directives(response):
            return  # e.g. never_cache's longer form: already says the same
        # Anything else (nothing, "no-store" alone, a public max-age) becomes the one answer: with
        # no-store, every other directive is moot.
        response["Cache-Control"] = PRIVATE_NO_STORE
