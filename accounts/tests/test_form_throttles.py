"""Sign-in, password reset and invitations are limited per client address and per email: the
refusal is a 429 with Retry-After and a form error saying how long to wait."""

import pytest
from django.core import mail

from accounts.models import Invitation, Role
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

GENEROUS = "1000/hour"


@pytest.fixture
def limits(settings, redis_client):
    def configure(**rates):
        names = ["login", "signup", "signup_email", "password_reset", "password_reset_email", "invite"]
        table = dict.fromkeys([*names, "invite_email"], GENEROUS)
        table.update(rates)
        settings.FORM_THROTTLE_RATES = table
        settings.FORM_THROTTLE_ENABLED = True

    return configure


def _reset(client, email, ip="203.0.113.5"):
    return client.post("/accounts/password-reset/", {"email": email}, REMOTE_ADDR=ip)


def _assert_refused_with_a_wait(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many attempts. Try again in" in response.content.decode()


def test_sign_in_attempts_are_limited_per_address(client, limits):
    # given an address allowed three sign-in attempts a minute
    limits(login="3/min")
    MembershipFactory(user__email="busy@example.com")
    posts = [
        client.post(
            "/accounts/login/", {"email": "busy@example.com", "password": "nope"}, REMOTE_ADDR="192.0.2.1"
        )
        for _ in range(4)
    ]

    # then the fourth is refused with the wait, before the password is even checked
    assert [p.status_code for p in posts[:3]] == [400, 400, 400]
    _assert_refused_with_a_wait(posts[3])
    # and another address may still try
    other = client.post(
        "/accounts/login/", {"email": "busy@example.com", "password": "nope"}, REMOTE_ADDR="192.0.2.2"
    )
    assert other.status_code == 400


def test_password_reset_mails_to_one_address_are_limited(client, limits):
    # given two reset emails an hour per email address
    limits(password_reset_email="2/hour")
    MembershipFactory(user__email="flooded@example.com")
    MembershipFactory(user__email="other@example.com")

    # when someone asks three times for the same email
    answers = [_reset(client, "flooded@example.com", ip=f"198.51.100.{n}") for n in range(1, 4)]

    # then two mails went out and the third request was refused without sending
    assert [a.status_code for a in answers[:2]] == [302, 302]
    _assert_refused_with_a_wait(answers[2])
    assert [m.to for m in mail.outbox] == [["flooded@example.com"]] * 2
    # another email is not affected
    assert _reset(client, "other@example.com").status_code == 302
    assert mail.outbox[-1].to == ["other@example.com"]


def test_password_reset_is_limited_per_address_whatever_the_email(client, limits):
    # given an address allowed two reset requests an hour
    limits(password_reset="2/hour")

    # when it asks for three different emails
    answers = [_reset(client, f"someone{n}@example.com", ip="192.0.2.9") for n in range(3)]

    # then the third is refused (the answer for unknown emails is otherwise the same redirect)
    assert [a.status_code for a in answers[:2]] == [302, 302]
    _assert_refused_with_a_wait(answers[2])


def test_invitations_are_limited_per_address(limits):
    # given an admin whose address may send two invitations an hour
    limits(invite="2/hour")
    admin = MembershipFactory(role=Role.OWNER)
    client = client_for(admin)

    # when they invite three people
    answers = [
        client.post("/accounts/settings/invitations/", {"email": f"p{n}@example.com", "role": "viewer"})
        for n in range(3)
    ]

    # then the third is refused and never stored
    assert [a.status_code for a in answers[:2]] == [302, 302]
    _assert_refused_with_a_wait(answers[2])
    assert sorted(Invitation.objects.values_list("email", flat=True)) == ["p0@example.com", "p1@example.com"]


def test_invitations_to_one_email_are_limited_across_accounts(limits):
    # given one invitation an hour per invited email, and two accounts
    limits(invite_email="1/hour")
    first = client_for(MembershipFactory(role=Role.OWNER))
    second = client_for(MembershipFactory(role=Role.OWNER))

    # when both invite the same person
    ok = first.post("/accounts/settings/invitations/", {"email": "popular@example.com", "role": "viewer"})
    refused = second.post(
        "/accounts/settings/invitations/",
        {"email": "popular@example.com", "role": "viewer"},
        REMOTE_ADDR="192.0.2.77",
    )

    # then the second is refused
    assert ok.status_code == 302
    _assert_refused_with_a_wait(refused)
    assert Invitation.objects.filter(email="popular@example.com").count() == 1
