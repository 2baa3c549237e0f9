from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, Role
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for

pytestmark = pytest.mark.django_db


def _token_client(membership):
    token, key = services.api_token_create(user=membership.user, account=membership.account, name="t")
    return token, Client(headers={"Authorization": f"Token {key}"})


def test_me_with_a_token_answers_for_the_tokens_account():
    # given a user in two accounts with a token for the second
    first = MembershipFactory(account__name="A", user__full_name="Ana Creator")
    second = MembershipFactory(user=first.user, account__name="B", role=Role.ADMIN)
    _token, client = _token_client(second)

    # when
    response = client.get("/api/me")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "user": {"id": str(first.user.pk), "email": first.user.email, "full_name": "Ana Creator"},
        "account": {"id": str(second.account.pk), "name": "B"},
        "role": "admin",
    }


def test_me_with_the_session_answers_for_the_current_account():
    owner = MembershipFactory()
    response = client_for(owner).get("/api/me")
    assert response.status_code == 200 and response.json()["account"]["id"] == str(owner.account.pk)


def test_no_token_is_a_401_json_error(client):
    # when
    response = client.get("/api/me")

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"
    assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize("header", ["Token nope", "Token", "Token a b"])
def test_a_bad_token_is_a_401_json_error(header):
    response = Client(headers={"Authorization": header}).get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_revoked_token_is_a_401_json_error():
    # given
    owner = MembershipFactory()
    token, client = _token_client(owner)
    assert client.get("/api/me").status_code == 200

    # when
    services.api_token_revoke(token=token, actor=owner.user)
    response = client.get("/api/me")

    # then
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_token_of_a_removed_member_stops_working():
    owner = MembershipFactory()
    member = MembershipFactory(account=owner.account, role=Role.MEMBER)
    _token, client = _token_client(member)
    member.delete()  # bypassing the service, which would also revoke the token
    assert client.get("/api/me").status_code == 401


def test_last_used_is_written_at_most_once_a_minute():
    # given
    owner = MembershipFactory()
    token, client = _token_client(owner)

    # when
    client.get("/api/me")
    token.refresh_from_db()
    first_use = token.last_used_at
    client.get("/api/me")
    token.refresh_from_db()

    # then
    assert first_use is not None and token.last_used_at == first_use

    # when a minute has passed
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get("/api/me")
    token.refresh_from_db()
    assert token.last_used_at > timezone.now() - timedelta(seconds=30)


def test_account_detail_is_own_account_only_via_token_and_session():
    # given
    owner = MembershipFactory(account__name="Mine")
    url = f"/api/accounts/{owner.account.pk}"

    # then
    owner_response, intruder_response = assert_other_account_gets_404(url, owner=owner, api=True)
    assert owner_response.json()["name"] == "Mine" and owner_response.json()["role"] == "owner"
    assert_other_account_gets_404(url, owner=owner)


def test_account_detail_of_another_own_account_is_404_for_a_token_scoped_elsewhere():
    first = MembershipFactory()
    second = MembershipFactory(user=first.user)
    _token, client = _token_client(first)
    assert client.get(f"/api/accounts/{second.account.pk}").status_code == 404


def test_a_signed_in_user_without_an_account_is_refused_with_a_json_403():
    # given
    member = MembershipFactory()
    client = client_for(member)
    member.delete()

    # when
    response = client.get("/api/me")

    # then
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_malformed_or_unknown_account_id_is_a_json_404(bad_id):
    _token, client = _token_client(MembershipFactory())
    response = client.get(f"/api/accounts/{bad_id}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
