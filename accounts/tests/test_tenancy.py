import pytest
from django.http import Http404

from accounts import services
from accounts.models import ApiToken, Role
from accounts.tenancy import get_for_account_or_404
from accounts.tests.factories import AccountFactory, MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for, make_intruder

pytestmark = pytest.mark.django_db


def test_the_helper_catches_a_view_that_forgets_the_account():
    # given a view that looks tokens up by id alone
    owner = MembershipFactory()
    token, _key = services.api_token_create(user=owner.user, account=owner.account, name="x")

    # when / then
    with pytest.raises(AssertionError, match="expected 404"):
        assert_other_account_gets_404(f"/test-only/leaky/{token.pk}/", owner=owner)


def test_the_helper_refuses_to_pass_on_an_unreachable_url():
    owner = MembershipFactory()
    with pytest.raises(AssertionError, match="expected 2xx/3xx"):
        assert_other_account_gets_404(
            "/accounts/tokens/00000000-0000-0000-0000-000000000000/revoke/", owner=owner, method="post"
        )


def test_the_default_intruder_has_the_owners_role_in_an_account_of_its_own():
    viewer = MembershipFactory(role=Role.VIEWER)
    intruder = make_intruder(viewer.role)
    assert intruder.role == Role.VIEWER and intruder.account != viewer.account


def test_get_for_account_or_404_scopes_by_account_and_tolerates_bad_ids():
    # given
    owner = MembershipFactory()
    token, _key = services.api_token_create(user=owner.user, account=owner.account, name="x")

    # then
    assert get_for_account_or_404(ApiToken, owner.account, pk=token.pk) == token
    assert get_for_account_or_404(ApiToken.objects.all(), owner.account, pk=token.pk) == token
    for account, lookup in [(AccountFactory(), token.pk), (owner.account, "not-a-uuid"), (None, token.pk)]:
        with pytest.raises(Http404):
            get_for_account_or_404(ApiToken, account, pk=lookup)
    assert get_for_account_or_404(ApiToken, owner.user, account_field="user", pk=token.pk) == token


def test_anonymous_requests_have_no_account(client):
    response = client.get("/accounts/login/")
    assert response.wsgi_request.account is None and response.wsgi_request.membership is None


def test_a_signed_in_request_carries_its_account_and_membership():
    owner = MembershipFactory()
    response = client_for(owner).get("/accounts/tokens/")
    assert response.wsgi_request.account == owner.account
    assert response.wsgi_request.membership == owner


def test_a_user_without_any_account_is_refused_on_account_pages():
    member = MembershipFactory()
    client = client_for(member)
    member.delete()
    assert client.get("/accounts/settings/").status_code == 403
