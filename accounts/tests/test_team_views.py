import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import ApiToken, Invitation, Membership, Role
from accounts.tenancy import SESSION_ACCOUNT_KEY
from accounts.tests.factories import AccountFactory, MembershipFactory, UserFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from creatorflow.core.testing_celery import relay_pass

pytestmark = pytest.mark.django_db

STRONG = "orchid-lantern-42-walrus"


def _invite(client, email, role, capture):
    with capture(execute=True):
        response = client.post("/accounts/settings/invitations/", {"email": email, "role": role})
    relay_pass()  # the request only stored the outbox row; the relay sends it (run inline here)
    link = re.search(r"https?://[^/]+(/accounts/invitations/[^/\s]+/)", mail.outbox[-1].body).group(1)
    return response, link


def test_team_page_lists_members_roles_and_pending_invitations(django_capture_on_commit_callbacks):
    # given
    owner = MembershipFactory(role=Role.OWNER, user__email="boss@example.com")
    MembershipFactory(account=owner.account, role=Role.VIEWER, user__email="eyes@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            account=owner.account, email="soon@example.com", role="member", actor=owner.user
        )

    # when
    response = client_for(owner).get("/accounts/settings/")

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "boss@example.com" in html and "eyes@example.com" in html and "soon@example.com" in html
    assert "Invite a teammate" in html


def test_signed_out_team_page_redirects_to_login(client):
    response = client.get("/accounts/settings/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_invite_then_accept_as_a_new_person_joins_with_the_role(client, django_capture_on_commit_callbacks):
    # given an owner invites a viewer
    owner = MembershipFactory(role=Role.OWNER)
    response, link = _invite(
        client_for(owner), "new@example.com", Role.VIEWER, django_capture_on_commit_callbacks
    )
    assert response.status_code == 302

    # when the invitee opens the link signed out and creates a login
    assert "Create your login" in client.get(link).content.decode()
    response = client.post(link, {"full_name": "New Person", "password": STRONG, "password_confirm": STRONG})

    # then they are signed in, acting in the account, as a viewer
    assert response.status_code == 302 and response["Location"] == "/"
    membership = Membership.objects.get(user__email="new@example.com")
    assert (membership.account, membership.role) == (owner.account, Role.VIEWER)
    assert client.session[SESSION_ACCOUNT_KEY] == str(owner.account.pk)
    assert Invitation.objects.get().accepted_by == membership.user


def test_invite_then_accept_as_an_existing_user(django_capture_on_commit_callbacks):
    # given an admin invites someone who already has an account of their own
    admin = MembershipFactory(role=Role.ADMIN)
    invitee = MembershipFactory(role=Role.OWNER, user__email="has-shop@example.com")
    _response, link = _invite(
        client_for(admin), invitee.user.email, Role.MEMBER, django_capture_on_commit_callbacks
    )
    client = client_for(invitee)

    # when they accept while signed in
    assert "Accept and join" in client.get(link).content.decode()
    response = client.post(link)

    # then they are a member there now, and that account is their current one
    assert response.status_code == 302
    assert Membership.objects.get(user=invitee.user, account=admin.account).role == Role.MEMBER
    assert client.session[SESSION_ACCOUNT_KEY] == str(admin.account.pk)


def test_signed_out_invitee_with_a_login_is_asked_to_sign_in(client, django_capture_on_commit_callbacks):
    owner = MembershipFactory()
    UserFactory(email="known@example.com")
    _response, link = _invite(
        client_for(owner), "known@example.com", Role.MEMBER, django_capture_on_commit_callbacks
    )
    html = client.get(link).content.decode()
    assert "Sign in to accept" in html and f"/accounts/login/?next={link}" in html


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_cannot_invite(role):
    # given
    member = MembershipFactory(role=role)

    # when
    response = client_for(member).post(
        "/accounts/settings/invitations/", {"email": "x@example.com", "role": "viewer"}
    )

    # then
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert "Invite a teammate" not in client_for(member).get("/accounts/settings/").content.decode()


def test_invitation_link_is_404_for_anyone_but_the_invitee(django_capture_on_commit_callbacks):
    # given
    owner = MembershipFactory()
    invitee = UserFactory(email="invitee@example.com")
    _response, link = _invite(
        client_for(owner), invitee.email, Role.MEMBER, django_capture_on_commit_callbacks
    )

    # then: the invitee sees it, someone signed in from another account gets 404, for GET and POST
    assert_other_account_gets_404(link, owner=invitee)
    assert_other_account_gets_404(link, owner=invitee, method="post")
    assert Membership.objects.filter(user=invitee, account=owner.account).exists()


def test_an_unknown_invitation_token_is_404(client):
    assert client.get("/accounts/invitations/not-a-real-token/").status_code == 404


def test_withdrawing_an_invitation_is_tenant_scoped(django_capture_on_commit_callbacks):
    # given
    owner = MembershipFactory()
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            account=owner.account, email="maybe@example.com", role="member", actor=owner.user
        )

    # then
    assert_other_account_gets_404(
        f"/accounts/settings/invitations/{invitation.pk}/revoke/", owner=owner, method="post"
    )
    assert not Invitation.objects.filter(pk=invitation.pk).exists()


def test_role_change_and_removal_are_tenant_scoped():
    # given
    owner = MembershipFactory(role=Role.OWNER)
    member = MembershipFactory(account=owner.account, role=Role.MEMBER)
    url = f"/accounts/settings/members/{member.user_id}/"

    # then
    assert_other_account_gets_404(url + "role/", owner=owner, method="post", data={"role": "admin"})
    member.refresh_from_db()
    assert member.role == Role.ADMIN
    assert_other_account_gets_404(url + "remove/", owner=owner, method="post")
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_role_change_over_htmx_returns_the_members_fragment():
    # given
    owner = MembershipFactory(role=Role.OWNER)
    member = MembershipFactory(account=owner.account, role=Role.MEMBER)

    # when
    response = client_for(owner).post(
        f"/accounts/settings/members/{member.user_id}/role/",
        {"role": "viewer"},
        headers={"HX-Request": "true"},
    )

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="members">') and "<html" not in html
    member.refresh_from_db()
    assert member.role == Role.VIEWER


def test_the_last_owner_cannot_be_removed_or_demoted_from_the_team_page():
    # given a sole owner and an admin
    owner = MembershipFactory(role=Role.OWNER)
    admin = MembershipFactory(account=owner.account, role=Role.ADMIN)

    # when the admin tries to remove the owner, and the owner tries to leave or step down
    client_for(admin).post(f"/accounts/settings/members/{owner.user_id}/remove/")
    client_for(owner).post(f"/accounts/settings/members/{owner.user_id}/remove/")
    response = client_for(owner).post(
        f"/accounts/settings/members/{owner.user_id}/role/", {"role": "admin"}, headers={"HX-Request": "true"}
    )

    # then the owner is still the owner, and was told why
    assert response.status_code == 400 and "at least one owner" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_switch_account_to_own_account_works_and_foreign_is_404():
    # given a user in two accounts, and an account they are not in
    first = MembershipFactory(account__name="A shop")
    second = MembershipFactory(user=first.user, account__name="B shop", role=Role.MEMBER)
    foreign = AccountFactory()
    client = client_for(first)

    # when
    ok = client.post("/accounts/switch/", {"account": str(second.account_id), "next": "/accounts/settings/"})
    refused = client.post("/accounts/switch/", {"account": str(foreign.pk)})

    # then
    assert ok.status_code == 302 and ok["Location"] == "/accounts/settings/"
    assert refused.status_code == 404
    assert client.session[SESSION_ACCOUNT_KEY] == str(second.account_id)
    assert client.get("/accounts/settings/").context["account"] == second.account
    # and through the tenancy helper: the account's member may switch to it, an outsider may not
    assert_other_account_gets_404(
        "/accounts/switch/", owner=second, method="post", data={"account": str(second.account_id)}
    )


def test_a_stale_session_account_falls_back_to_a_current_membership():
    # given a user whose session points at an account they were removed from
    stays = MembershipFactory(account__name="Stays")
    gone = MembershipFactory(user=stays.user, account__name="Gone", role=Role.MEMBER)
    client = client_for(gone)
    gone.delete()

    # when
    response = client.get("/accounts/settings/")

    # then
    assert response.context["account"] == stays.account


def test_api_token_page_shows_a_new_key_once_and_lists_only_the_prefix():
    # given
    owner = MembershipFactory()
    client = client_for(owner)

    # when
    created = client.post("/accounts/tokens/", {"name": "Zapier"})
    listed = client.get("/accounts/tokens/")

    # then
    key = created.context["new_key"]
    token = ApiToken.objects.get(user=owner.user, name="Zapier")
    assert created.status_code == 200 and key in created.content.decode()
    assert {"private", "no-store"} <= {d.strip() for d in created["Cache-Control"].split(",")}
    assert key not in listed.content.decode() and token.prefix in listed.content.decode()


def test_api_token_revoke_is_tenant_scoped():
    # given
    owner = MembershipFactory()
    token, _key = services.api_token_create(user=owner.user, account=owner.account, name="old")

    # then
    assert_other_account_gets_404(f"/accounts/tokens/{token.pk}/revoke/", owner=owner, method="post")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_teammate_cannot_revoke_my_token_from_the_tokens_page():
    owner = MembershipFactory()
    teammate = MembershipFactory(account=owner.account, role=Role.ADMIN)
    token, _key = services.api_token_create(user=owner.user, account=owner.account, name="mine")
    assert client_for(teammate).post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404


def test_team_page_queries_do_not_grow_with_the_team(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given a small team, measured
    owner = MembershipFactory(role=Role.OWNER)
    client = client_for(owner)
    client.get("/accounts/settings/")  # warm up (session, content types)

    with CaptureQueriesContext(connection) as small:
        client.get("/accounts/settings/")

    # when the team and its invitations grow
    for n in range(5):
        MembershipFactory(account=owner.account, role=Role.MEMBER)
        with django_capture_on_commit_callbacks(execute=True):
            services.invitation_create(
                account=owner.account, email=f"p{n}@example.com", role="viewer", actor=owner.user
            )

    # then the page needs the same number of queries
    with django_assert_num_queries(len(small)):
        response = client.get("/accounts/settings/")
    assert response.status_code == 200
