"""A creator signs up, lands on the dashboard, logs out and logs back in — in a real browser."""

import re

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_up_dashboard_log_out_log_in(live_server, page):
    email = "new.creator@example.com"
    password = "a-long-and-unusual-passphrase-7"

    # given: a visitor on the sign-up page
    page.goto(f"{live_server.url}/accounts/signup/")

    # when: they sign up
    page.fill("input[name=full_name]", "New Creator")
    page.fill("input[name=account_name]", "New Creator Shop")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.fill("input[name=password_confirm]", password)
    page.click("form button[type=submit]")

    # then: they land on the dashboard of their new account
    page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/$"))
    assert page.get_by_role("link", name="Orders").first.is_visible()
    assert "New Creator Shop" in page.content()

    # when: they open their account menu and log out
    page.get_by_label("Your account").click()
    page.get_by_role("button", name="Log out").click()

    # then: they are signed out and the dashboard asks them to log in
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.goto(f"{live_server.url}/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/"))

    # when: they log in again
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")

    # then: back on the dashboard
    page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/$"))
    assert "New Creator Shop" in page.content()
