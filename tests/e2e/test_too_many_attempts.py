"""A creator who tries too often is told in words how long to wait — on the sign-in form and the
password-reset form, at 1280 px and on a 390 px phone — and the page still works."""

from __future__ import annotations

import pytest

from accounts.tests.factories import MembershipFactory
from tests.e2e.browsing import console_errors

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

GENEROUS = "1000/hour"


@pytest.fixture
def limits(settings, redis_client):
    def configure(**rates):
        names = [
            "login",
            "signup",
            "signup_email",
            "password_reset",
            "password_reset_email",
            "invite",
            "invite_email",
        ]
        settings.FORM_THROTTLE_RATES = {**dict.fromkeys(names, GENEROUS), **rates}
        settings.FORM_THROTTLE_ENABLED = True

    return configure


def _unexpected(errors: list[str]) -> list[str]:
    """Chromium logs a form page answered 400 (wrong password) or 429 (refused) as a console error;
    those are the answers under test. Anything else is a fault."""
    expected = ("status of 400 (Bad Request)", "status of 429 (Too Many Requests)")
    return [e for e in errors if not e.endswith(expected)]


@pytest.mark.parametrize("width", [1280, 390])
def test_a_second_reset_email_in_a_row_says_how_long_to_wait(live_server, page, limits, width):
    # given one reset email an hour per address, and a creator who already asked for one
    limits(password_reset_email="1/hour")
    MembershipFactory(user__email="forgetful@example.com")
    errors = console_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/accounts/password-reset/")
    page.fill("input[name=email]", "forgetful@example.com")
    page.click("form button[type=submit]")
    page.wait_for_url("**/accounts/password-reset/sent/")

    # when they ask again at once
    page.goto(f"{live_server.url}/accounts/password-reset/")
    page.fill("input[name=email]", "forgetful@example.com")
    with page.expect_response("**/accounts/password-reset/") as answer:
        page.click("form button[type=submit]")

    # then the form is shown again, saying in words how long to wait
    assert answer.value.status == 429
    assert page.get_by_text("Too many attempts. Try again in 1 hour.").is_visible()
    assert page.locator("input[name=email]").is_visible()
    assert _unexpected(errors) == []


@pytest.mark.parametrize("width", [1280, 390])
def test_signing_in_too_often_from_one_address_says_how_long_to_wait(live_server, page, limits, width):
    # given an address allowed two sign-in attempts a minute, both spent on a wrong password
    limits(login="2/min")
    MembershipFactory(user__email="busy@example.com")
    errors = console_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    for _ in range(2):
        page.fill("input[name=email]", "busy@example.com")
        page.fill("input[name=password]", "not-the-password")
        page.click("form button[type=submit]")
        page.get_by_text("That email and password do not match an account.").wait_for()

    # when they try a third time
    page.fill("input[name=email]", "busy@example.com")
    page.fill("input[name=password]", "not-the-password")
    with page.expect_response("**/accounts/login/") as answer:
        page.click("form button[type=submit]")

    # then they are told to wait, in words, instead of the password being checked
    assert answer.value.status == 429
    assert page.get_by_text("Too many attempts. Try again in 1 minute.").is_visible()
    assert not page.get_by_text("That email and password do not match an account.").is_visible()
    assert _unexpected(errors) == []
