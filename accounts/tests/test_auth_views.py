import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Membership, Role, User
from accounts.tenancy import SESSION_ACCOUNT_KEY
from accounts.tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "orchid-lantern-42-walrus"


def _login(client, email, password, ip="127.0.0.1"):
    return client.post("/accounts/login/", {"email": email, "password": password}, REMOTE_ADDR=ip)


def test_login_page_is_a_plain_form_with_email_password_and_csrf(client):
    # when
    response = client.get("/accounts/login/")

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="email"' in html and 'name="password"' in html and 'name="csrfmiddlewaretoken"' in html
    assert reverse("accounts:login") == "/accounts/login/"


def test_signup_creates_user_account_owner_and_lands_on_the_dashboard(client):
    # when
    response = client.post(
        "/accounts/signup/",
        {
            "full_name": "Maya Creator",
            "email": "maya@example.com",
            "account_name": "Maya's Shop",
            "password": STRONG,
            "password_confirm": STRONG,
        },
    )

    # then
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(email="maya@example.com")
    membership = Membership.objects.get(user=user)
    assert (membership.account.name, membership.role) == ("Maya's Shop", Role.OWNER)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[SESSION_ACCOUNT_KEY] == str(membership.account_id)


def test_signup_shows_errors_for_mismatched_or_weak_passwords(client):
    # when
    response = client.post(
        "/accounts/signup/",
        {"email": "a@example.com", "account_name": "Shop", "password": "abc", "password_confirm": "abd"},
    )

    # then
    assert response.status_code == 400
    assert "The two passwords differ." in response.content.decode()
    assert not User.objects.exists()


def test_login_with_email_and_password_then_logout_is_post_only(client):
    # given
    membership = MembershipFactory(user__email="lee@example.com")

    # when
    response = _login(client, "Lee@Example.com", DEFAULT_PASSWORD)

    # then
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(membership.user.pk)

    # when logging out by GET, nothing happens
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session

    # when logging out by POST
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_login_with_a_wrong_password_shows_the_form_again(client):
    # given
    MembershipFactory(user__email="lee@example.com")

    # when
    response = _login(client, "lee@example.com", "wrong-password")

    # then
    assert response.status_code == 400
    assert "do not match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_follows_a_safe_next_but_not_an_offsite_one(client):
    MembershipFactory(user__email="lee@example.com")
    ok = client.post(
        "/accounts/login/",
        {"email": "lee@example.com", "password": DEFAULT_PASSWORD, "next": "/accounts/tokens/"},
    )
    assert ok["Location"] == "/accounts/tokens/"
    client.post("/accounts/logout/")
    evil = client.post(
        "/accounts/login/",
        {"email": "lee@example.com", "password": DEFAULT_PASSWORD, "next": "https://evil.test/"},
    )
    assert evil["Location"] == "/"


def test_password_reset_emails_a_link_that_sets_a_new_password(client):
    # given
    user = UserFactory(email="forgetful@example.com")

    # when asking for the link
    response = client.post("/accounts/password-reset/", {"email": "forgetful@example.com"})

    # then an email with the link is sent
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["forgetful@example.com"]
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)

    # when following it and choosing a new password
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG})

    # then the new password works
    assert done.status_code == 302 and done["Location"] == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_password_reset_for_an_unknown_email_sends_nothing_but_looks_the_same(client):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_four_failures_do_not_lock(client):
    # given
    MembershipFactory(user__email="clumsy@example.com")
    for n in range(4):
        _login(client, "clumsy@example.com", f"typo-{n}")

    # when / then
    assert _login(client, "clumsy@example.com", DEFAULT_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "url", ["/accounts/signup/", "/accounts/password-reset/", "/accounts/password-reset/sent/"]
)
def test_public_pages_render_for_signed_out_visitors(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "base_public.html" in [t.name for t in response.templates]
