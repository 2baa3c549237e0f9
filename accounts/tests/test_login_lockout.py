"""Login lockout behind a proxy: keyed on (client address, email), a ceiling per address, and a
cool-off that further failures do not renew."""

import time
from datetime import timedelta

import pytest

from accounts.tests.factories import DEFAULT_PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts"


def _login(client, email, password, ip="127.0.0.1", forwarded_for=None):
    extra = {"REMOTE_ADDR": ip}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post("/accounts/login/", {"email": email, "password": password}, **extra)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_a_strangers_failures_for_an_email_do_not_lock_its_owner_out_elsewhere(client):
    # given ten failed attempts for one email, two from each of five other addresses
    MembershipFactory(user__email="target@example.com")
    for n in range(10):
        _login(client, "target@example.com", f"guess-{n}", ip=f"10.0.0.{n % 5 + 1}")

    # when the owner signs in from their own address
    response = _login(client, "target@example.com", DEFAULT_PASSWORD, ip="10.0.1.99")

    # then they are in
    assert response.status_code == 302
    assert _signed_in(client)


def test_five_failures_lock_that_email_from_that_address_only(client, django_user_model):
    # given five failures for one email from one address
    MembershipFactory(user__email="owner@example.com")
    MembershipFactory(user__email="colleague@example.com")
    for n in range(5):
        _login(client, "owner@example.com", f"guess-{n}", ip="192.0.2.7")

    # when the right password comes from that address
    locked = _login(client, "owner@example.com", DEFAULT_PASSWORD, ip="192.0.2.7")

    # then that pair is refused with the lockout page...
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert not _signed_in(client)
    # ...while the same email from another address and another email from the same address work
    assert _login(client, "owner@example.com", DEFAULT_PASSWORD, ip="192.0.2.8").status_code == 302
    client.logout()
    assert _login(client, "colleague@example.com", DEFAULT_PASSWORD, ip="192.0.2.7").status_code == 302


def _fail_across_emails(client, settings, failures: int, ip: str) -> None:
    """An address failing once for each of `failures` emails, with a ceiling of eight."""
    settings.AXES_IP_FAILURE_LIMIT = 8
    MembershipFactory(user__email="innocent@example.com")
    for n in range(failures):
        _login(client, f"victim{n}@example.com", "guess", ip=ip)


def test_an_address_guessing_across_many_emails_hits_the_ceiling(client, settings):
    # given an address that failed for eight different emails (below five each)
    _fail_across_emails(client, settings, 8, ip="198.51.100.4")

    # when a correct login comes from that address
    locked = _login(client, "innocent@example.com", DEFAULT_PASSWORD, ip="198.51.100.4")

    # then the address is locked as a whole, and other addresses are not
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert not _signed_in(client)
    assert _login(client, "innocent@example.com", DEFAULT_PASSWORD, ip="198.51.100.5").status_code == 302


def test_below_the_ceiling_an_address_can_still_sign_in(client, settings):
    # given seven failures across emails from one address, with a ceiling of eight
    _fail_across_emails(client, settings, 7, ip="198.51.100.4")

    # when / then
    assert _login(client, "innocent@example.com", DEFAULT_PASSWORD, ip="198.51.100.4").status_code == 302


def test_behind_the_proxy_clients_are_told_apart_by_the_forwarded_address(client, settings):
    # given one trusted proxy: every request arrives from its address
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.10.0.2"
    MembershipFactory(user__email="shared@example.com")
    for n in range(5):
        _login(client, "shared@example.com", f"guess-{n}", ip=proxy, forwarded_for="203.0.113.50")

    # when the owner signs in through the same proxy from their own address
    owner = _login(client, "shared@example.com", DEFAULT_PASSWORD, ip=proxy, forwarded_for="203.0.113.77")

    # then the attacker's address is locked and the owner's is not
    assert owner.status_code == 302
    client.logout()
    attacker = _login(client, "shared@example.com", DEFAULT_PASSWORD, ip=proxy, forwarded_for="203.0.113.50")
    assert attacker.status_code == 429


def test_a_forged_forwarded_entry_does_not_escape_the_lock(client, settings):
    # given one trusted proxy and an attacker locked out at their real address
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.10.0.2"
    MembershipFactory(user__email="shared@example.com")
    for n in range(5):
        _login(client, "shared@example.com", f"guess-{n}", ip=proxy, forwarded_for="203.0.113.50")

    # when they prepend a made-up address (the proxy appends the real one)
    forged = _login(
        client, "shared@example.com", DEFAULT_PASSWORD, ip=proxy, forwarded_for="1.2.3.4, 203.0.113.50"
    )

    # then they are still locked
    assert forged.status_code == 429


def test_failures_during_the_lockout_do_not_renew_the_cool_off(client, settings):
    # given a short cool-off and a locked pair
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    MembershipFactory(user__email="patient@example.com")
    for n in range(5):
        _login(client, "patient@example.com", f"guess-{n}", ip="192.0.2.20")
    locked_at = time.monotonic()
    assert _login(client, "patient@example.com", DEFAULT_PASSWORD, ip="192.0.2.20").status_code == 429

    # when more failures arrive during the lockout
    time.sleep(1.2)
    assert _login(client, "patient@example.com", "still-guessing", ip="192.0.2.20").status_code == 429

    # then the lockout still ends two seconds after it began
    time.sleep(max(0.0, 2.3 - (time.monotonic() - locked_at)))
    assert _login(client, "patient@example.com", DEFAULT_PASSWORD, ip="192.0.2.20").status_code == 302
