"""What every browser test does as the creator: sign in, and listen for console errors."""

from __future__ import annotations

import re

from accounts.tests.factories import DEFAULT_PASSWORD


def sign_in(page, live_server, membership) -> None:
    """Sign in through the login form and wait for the dashboard."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=email]", membership.user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/$"))


def console_errors(page) -> list[str]:
    """A list that fills with every console error and uncaught exception the page logs."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors
