"""Each carrier account's own tracking-webhook credentials: a URL token, and a signing secret for the
providers that sign (EasyPost, the sandbox).

Why per account: a webhook applies only to the shipments of the carrier account it was addressed to,
so tenant A's signed event can never move tenant B's parcel (CONTRACT.md §3). The token is kept only
as its SHA-256 and the secret encrypted; both are shown to the creator once, when issued, and
issuing again replaces them at once (the old URL and secret stop working).

The built-in sandbox carrier is its own "carrier side": when its account is created (or first sends
a webhook) the credentials are issued and registered with it (`SandboxWebhookEndpoint`), as a creator
would enter them in a real carrier's dashboard.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from creatorflow.audit.services import audit_log

from ..models import CarrierAccount, Provider, SandboxWebhookEndpoint, new_webhook_token, webhook_token_hash

SIGNING_PROVIDERS = frozenset({Provider.EASYPOST, Provider.SANDBOX})
TOKEN_MAX = 64


@dataclass(frozen=True)
class WebhookCredentials:
    token: str
    secret: str  # empty for providers that do not sign (Shippo)


def webhook_credentials_issue(*, carrier_account: CarrierAccount, actor) -> WebhookCredentials:
    """Issue a new token (and secret) for the account; returns them for showing once. Locks the row
    for the change; the audit row names the event, never the values."""
    token = new_webhook_token()
    secret = secrets.token_urlsafe(32) if carrier_account.provider in SIGNING_PROVIDERS else ""
    with transaction.atomic():
        locked = CarrierAccount.objects.select_for_update().get(pk=carrier_account.pk)
        locked.webhook_token_hash = webhook_token_hash(token)
        locked.webhook_secret = secret
        locked.webhook_issued_at = timezone.now()
        locked.save(update_fields=["webhook_token_hash", "webhook_secret", "webhook_issued_at"])
        if locked.provider == Provider.SANDBOX:
            SandboxWebhookEndpoint.objects.update_or_create(
                customer=str(locked.pk), defaults={"token": token, "secret": secret}
            )
        audit_log(
            actor=actor,
            action="carrier_account.webhook_credentials_issued",
            target=locked,
            changes={"webhook_issued_at": [None, locked.webhook_issued_at.isoformat()]},
        )
    carrier_account.webhook_token_hash = locked.webhook_token_hash
    carrier_account.webhook_secret = secret
    carrier_account.webhook_issued_at = locked.webhook_issued_at
    return WebhookCredentials(token=token, secret=secret)


def carrier_account_for_webhook(*, provider: str, token: str) -> CarrierAccount | None:
    """The carrier account of `provider` whose webhook URL carries `token`, or None. The hash is the
    lookup key; the constant-time comparison is what accepts."""
    if not token or len(token) > TOKEN_MAX:
        return None
    digest = webhook_token_hash(token)
    found = CarrierAccount.objects.filter(provider=provider, webhook_token_hash=digest).first()
    if found is None or not hmac.compare_digest(found.webhook_token_hash.encode(), digest.encode()):
        return None
    return found


def sandbox_endpoint_for(carrier_account_id: str) -> SandboxWebhookEndpoint | None:
    """The sandbox's registered endpoint for a customer, registering it first if the account never
    had its credentials issued (accounts made outside the settings page: fixtures, scripts)."""
    endpoint = SandboxWebhookEndpoint.objects.filter(customer=str(carrier_account_id)).first()
    if endpoint is not None:
        return endpoint
    carrier_account = CarrierAccount.objects.filter(pk=carrier_account_id, provider=Provider.SANDBOX).first()
    if carrier_account is None:
        return None
    webhook_credentials_issue(carrier_account=carrier_account, actor="sandbox carrier")
    return SandboxWebhookEndpoint.objects.filter(customer=str(carrier_account_id)).first()
