"""Test helpers shared by every app. The tenancy check is the one each id-taking endpoint gets:

    from creatorflow.core.testing import assert_other_account_gets_404

    def test_order_detail_is_tenant_scoped(db):
        # given an order of one account
        owner = MembershipFactory()
        order = OrderFactory(account=owner.account)
        # then another account's member cannot see it (and its owner can)
        assert_other_account_gets_404(f"/api/orders/{order.pk}", owner=owner, api=True)

It proves both halves: the owner's request is not a 404 (2xx/3xx: the URL is real and reachable),
and the intruder's is a 404 (on the API, also with the JSON error body). The intruder acts in their
own account — through the session (force_login + their current account) or with their own API
token — so a view that forgot to filter by `request.account` fails this check.
"""

from __future__ import annotations

import json as jsonlib
import uuid
from dataclasses import dataclass

from django.test import Client

from accounts.models import Account, Membership, User
from accounts.services import api_token_create
from accounts.tenancy import SESSION_ACCOUNT_KEY

SAFE_METHODS = {"get", "head", "options"}


@dataclass(frozen=True)
class Party:
    """Who makes a request: a user acting in an account (None for a user without one)."""

    user: User
    account: Account | None


def as_party(who: Membership | User | Party) -> Party:
    """A Membership acts in its account; a bare User acts in their first account (or none)."""
    if isinstance(who, Party):
        return who
    if isinstance(who, Membership):
        return Party(user=who.user, account=who.account)
    if isinstance(who, User):
        first = (
            Membership.objects.filter(user=who).select_related("account").order_by("created_at", "pk").first()
        )
        return Party(user=who, account=first.account if first else None)
    raise TypeError(f"Expected a Membership, a User or a Party, got {type(who).__name__}")


def make_intruder(role: str = "owner") -> Membership:
    """A fresh user who is `role` of a fresh account of their own (and of nothing else).

    Same role as the owner by default, so a role check cannot mask a missing tenancy check.
    """
    suffix = uuid.uuid4().hex[:10]
    user = User.objects.create_user(email=f"intruder-{suffix}@example.com", password=None)
    account = Account.objects.create(name=f"Intruder {suffix}")
    return Membership.objects.create(user=user, account=account, role=role)


def client_for(who: Membership | User | Party, *, api: bool = False) -> Client:
    """A test client acting as `who`: signed in with their current account in the session, or
    (api=True) carrying a fresh API token of theirs in `Authorization: Token <key>`."""
    party = as_party(who)
    if api:
        if party.account is None:
            raise ValueError(f"{party.user} has no account, so cannot hold an API token")
        _token, key = api_token_create(user=party.user, account=party.account, name="test")
        return Client(headers={"Authorization": f"Token {key}"})
    client = Client()
    client.force_login(party.user, backend="django.contrib.auth.backends.ModelBackend")
    if party.account is not None:
        session = client.session
        session[SESSION_ACCOUNT_KEY] = str(party.account.pk)
        session.save()
    return client


def _send(client: Client, method: str, url: str, data, *, as_json: bool):
    send = getattr(client, method.lower())
    if data is None:
        return send(url)
    if as_json and method.lower() not in SAFE_METHODS:
        return send(url, data=jsonlib.dumps(data), content_type="application/json")
    return send(url, data=data)


def assert_other_account_gets_404(
    url: str,
    *,
    owner: Membership | User | Party,
    intruder: Membership | User | Party | None = None,
    method: str = "get",
    data: dict | None = None,
    api: bool = False,
    as_json: bool | None = None,
):
    """Assert that `owner` reaches `url` (2xx/3xx) and `intruder` gets a 404.

    `owner` / `intruder` are Memberships (a user acting in that account), Users (acting in their
    first account) or `Party`s; `intruder` defaults to `make_intruder(owner's role)`. `data` is
    sent as a form (session) or as JSON (api=True; override with `as_json`).

    The intruder goes first: for a request that changes something (revoke, delete) the owner's
    success would otherwise remove the object and make the intruder's 404 prove nothing. Returns
    `(owner_response, intruder_response)` for further assertions.
    """
    owner_party = as_party(owner)
    if intruder is None:
        role_of_owner = owner.role if isinstance(owner, Membership) else "owner"
        intruder = make_intruder(role_of_owner)
    intruder_party = as_party(intruder)
    if intruder_party.account is not None and owner_party.account is not None:
        assert intruder_party.account.pk != owner_party.account.pk, "the intruder must act in another account"
    as_json = api if as_json is None else as_json

    intruder_response = _send(client_for(intruder_party, api=api), method, url, data, as_json=as_json)
    owner_response = _send(client_for(owner_party, api=api), method, url, data, as_json=as_json)

    assert 200 <= owner_response.status_code < 400, (
        f"{method.upper()} {url} as its owner {owner_party.user} answered {owner_response.status_code}, "
        "expected 2xx/3xx; a tenancy check on an unreachable URL proves nothing"
    )
    assert intruder_response.status_code == 404, (
        f"{method.upper()} {url} as {intruder_party.user} of another account answered "
        f"{intruder_response.status_code}, expected 404"
    )
    if api:
        body = intruder_response.json()
        assert body.get("error", {}).get("code") == "not_found", (
            f"expected the JSON 404 error body, got {body}"
        )
    return owner_response, intruder_response
