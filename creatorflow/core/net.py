"""Who is on the other end of a request: the client's address as far as our proxies can vouch.

One answer for everything that keys on an address (the audit log, login lockout, rate limits), so
they never disagree about who a client is.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def trusted_proxy_count() -> int:
    """How many reverse proxies in front of the app append to X-Forwarded-For (0: none trusted).

    `TRUSTED_PROXY_COUNT` (settings read the older `AUDIT_TRUSTED_PROXY_COUNT` when it is unset)."""
    try:
        return max(int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0), 0)
    except (TypeError, ValueError):
        return 0


def valid_ip(value: str | None) -> str | None:
    """`value` as a normalised IP address, or None when it is not one."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request, *args) -> str | None:
    """The client's IP address, believing X-Forwarded-For only as far as we trust our proxies.

    With N trusted proxies, each appending the address it received the request from, the client is
    the N-th entry from the right; anything further left was written by the client and can be
    forged. With 0 the header is ignored and REMOTE_ADDR is the client. A header shorter than N
    entries means the request did not come through all of our proxies: REMOTE_ADDR is all we know.
    (Extra positional arguments are accepted so django-axes can call this as its IP callable.)
    """
    trusted = trusted_proxy_count()
    if trusted > 0:
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = [part.strip() for part in header.split(",") if part.strip()]
        if len(forwarded) >= trusted:
            ip = valid_ip(forwarded[-trusted])
            if ip:
                return ip
    return valid_ip(request.META.get("REMOTE_ADDR"))
