"""Carrier webhook URL tokens, for every provider: stored only as their SHA-256, shown to the creator
once (EasyPost, Shippo) or never (the built-in sandbox registers its own), and nowhere afterwards:
not in the database row, the audit log, the settings page or the account's edit page."""

import re

import pytest
from django.db import connection

from accounts.tests.factories import MembershipFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.core.testing import client_for
from shipping.models import CarrierAccount, SandboxWebhookEndpoint, webhook_token_hash

pytestmark = pytest.mark.django_db


def _raw_rows(model, **where) -> str:
    """Every stored column of the matching rows as the database holds them (no field decryption)."""
    column, value = next(iter(where.items()))
    if connection.vendor == "sqlite" and hasattr(value, "hex"):
        value = value.hex
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {model._meta.db_table} WHERE {column} = %s", [value])  # noqa: S608
        return repr(cursor.fetchall())


def _form(provider: str) -> dict:
    return {
        "provider": provider,
        "name": f"{provider} main",
        "api_key": "" if provider == "sandbox" else f"{provider}_test_key_123",
        "enabled": "on",
        "preference": "0",
        "services_allowed": "",
    }


def _pages_after(client, carrier_account) -> str:
    return (
        client.get("/shipping/settings/").content.decode()
        + client.get(f"/shipping/settings/carriers/{carrier_account.pk}/edit/").content.decode()
    )


@pytest.mark.parametrize("provider", ["easypost", "shippo"])
def test_the_token_is_shown_once_on_creation_and_stored_only_hashed(provider):
    # given a creator who may manage carriers
    owner = MembershipFactory()
    client = client_for(owner)

    # when they add the carrier account
    response = client.post("/shipping/settings/carriers/new/", _form(provider))

    # then the response shows its webhook URL once, uncached
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert "shown only this once" in html
    token = re.search(rf"/webhooks/carriers/{provider}/\?token=([\w-]+)", html).group(1)
    carrier_account = CarrierAccount.objects.get(account=owner.account)

    # and only its SHA-256 is stored: not in the row, not in the audit log
    assert carrier_account.webhook_token_hash == webhook_token_hash(token)
    assert token not in _raw_rows(CarrierAccount, id=carrier_account.pk)
    assert not any(token in str(entry.changes) for entry in AuditLogEntry.objects.all())

    # and no later page shows it (nor the signing secret, where the provider signs)
    later = _pages_after(client, carrier_account)
    assert token not in later and "?token=" not in later
    if carrier_account.webhook_secret:
        assert carrier_account.webhook_secret not in later
        assert carrier_account.webhook_secret not in _raw_rows(CarrierAccount, id=carrier_account.pk)


def test_the_sandbox_token_is_never_shown_and_its_carrier_side_copy_is_encrypted():
    # given a creator who adds the built-in sandbox carrier
    owner = MembershipFactory()
    client = client_for(owner)
    response = client.post("/shipping/settings/carriers/new/", _form("sandbox"))

    # then no page shows a webhook URL: the sandbox's side was registered directly
    assert response.status_code == 302
    carrier_account = CarrierAccount.objects.get(account=owner.account)
    endpoint = SandboxWebhookEndpoint.objects.get(customer=str(carrier_account.pk))
    token = endpoint.token
    assert token and token not in _pages_after(client, carrier_account)

    # and our row holds only the hash of what the sandbox sends; the sandbox's copy is encrypted
    assert carrier_account.webhook_token_hash == webhook_token_hash(token)
    assert token not in _raw_rows(CarrierAccount, id=carrier_account.pk)
    assert token not in _raw_rows(SandboxWebhookEndpoint, customer=str(carrier_account.pk))
    assert not any(token in str(entry.changes) for entry in AuditLogEntry.objects.all())
