"""How django-axes names the account a failed login was for, and when it locks."""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def login_identifier(request, credentials) -> str | None:
    """The lower-cased email, whether it came from our login form (`email`) or the admin (`username`)."""
    for source in (credentials or {}, getattr(request, "POST", {})):
        for field in ("email", "username"):
            value = source.get(field)
            if value:
                return str(value).strip().lower()
    return None


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler plus a ceiling per client address.

    Lockout is keyed on (address, email) (`AXES_LOCKOUT_PARAMETERS`), so a stranger's failures for
    an email never lock its owner out elsewhere. An address that fails `AXES_IP_FAILURE_LIMIT`
    times across all emails within the cool-off is locked as a whole: one machine cannot guess its
    way through a list of accounts five tries at a time.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        ip_address = getattr(request, "axes_ip_address", None)
        ceiling = int(getattr(settings, "AXES_IP_FAILURE_LIMIT", 0) or 0)
        if not ip_address or ceiling <= 0:
            return failures
        from_address = (
            AccessAttempt.objects.filter(
                ip_address=ip_address, attempt_time__gte=get_cool_off_threshold(request)
            ).aggregate(total=Sum("failures_since_start"))["total"]
            or 0
        )
        if from_address >= ceiling:
            return max(failures, get_failure_limit(request, credentials))
        return failures
