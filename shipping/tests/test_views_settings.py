"""The shipping settings page: carrier accounts (keys kept secret and encrypted, test connection),
the shipping profile with its ship-from warehouse, package presets; roles and tenancy."""

import re

import pytest
from django.db import connection
from django.test import Client

from accounts.tests.factories import MembershipFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.core.errors import DomainError
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from inventory.tests.factories import WarehouseFactory
from shipping.models import (
    CarrierAccount,
    PackagePreset,
    SandboxWebhookEndpoint,
    ShippingProfile,
    webhook_token_hash,
)
from shipping.services.settings import (
    carrier_account_create,
    carrier_account_test,
    carrier_account_update,
    package_preset_create,
)

pytestmark = pytest.mark.django_db

SECRET = "EZTK_live_not_a_real_key_4242"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def owner():
    return MembershipFactory()


@pytest.fixture
def member(owner):
    return MembershipFactory(account=owner.account, role="member")


@pytest.fixture
def viewer(owner):
    return MembershipFactory(account=owner.account, role="viewer")


def sandbox_of(account, **fields):
    return carrier_account_create(account=account, actor=None, provider="sandbox", name="Sandbox", **fields)


def easypost_of(account, **fields):
    return carrier_account_create(
        account=account, actor=None, provider="easypost", name="EasyPost main", api_key=SECRET, **fields
    )


def raw_api_key(carrier_account) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT api_key FROM {CarrierAccount._meta.db_table} WHERE id = %s",
            [carrier_account.pk.hex if connection.vendor == "sqlite" else carrier_account.pk],
        )
        return cursor.fetchone()[0]


def carrier_form(**overrides):
    data = {
        "provider": "easypost",
        "name": "EasyPost main",
        "api_key": SECRET,
        "enabled": "on",
        "preference": "0",
        "services_allowed": "",
    }
    data.update(overrides)
    return data


# --- the page ------------------------------------------------------------------------------------


def test_the_settings_page_lists_carrier_accounts_without_ever_showing_a_key(owner):
    # given
    easypost_of(owner.account, services_allowed=["USPS", "UPS:Ground"])
    carrier_account_create(
        account=owner.account,
        actor=None,
        provider="shippo",
        name="Shippo backup",
        api_key="shippo_test_99",
        preference=5,
    )
    sandbox_of(owner.account, enabled=False)

    # when
    response = client_for(owner).get("/shipping/settings/")

    # then every account is listed with its provider, state, preference and services
    html = response.content.decode()
    assert response.status_code == 200
    assert "EasyPost main" in html and "Shippo backup" in html and "Sandbox (built in)" in html
    assert "USPS, UPS:Ground" in html
    assert "Disabled" in html and "Enabled" in html
    assert html.count("•••• set") == 2
    assert SECRET not in html and "shippo_test_99" not in html
    # and no webhook URL is shown again (its token is stored only as a hash): each says whether it
    # is set up, and offers a new one
    assert "?token=" not in html
    assert html.count("Tracking webhook: not set up yet") == 2
    assert "Set up webhook" in html


def test_the_settings_page_creates_the_profile_with_the_default_warehouse(owner):
    # given
    WarehouseFactory(account=owner.account, name="Overflow", code="OV")
    main = WarehouseFactory(
        account=owner.account, name="Main", code="MN", is_default=True, postal_code="90012"
    )

    # when
    html = client_for(owner).get("/shipping/settings/").content.decode()

    # then
    profile = ShippingProfile.objects.get(account=owner.account)
    assert profile.ship_from == main
    assert "Ship-from address (Main)" in html and 'value="90012"' in html


def test_shipping_pages_need_sign_in():
    for path in ("/shipping/", "/shipping/settings/", "/shipping/settings/carriers/new/"):
        response = Client().get(path)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), path


# --- carrier accounts ----------------------------------------------------------------------------


def test_adding_an_easypost_account_stores_the_key_encrypted_and_audits_without_it(owner):
    # when
    response = client_for(owner).post(
        "/shipping/settings/carriers/new/", carrier_form(services_allowed="USPS, UPS:Ground")
    )

    # then the page shows the account's own webhook URL and secret, this once, uncached
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert "shown only this once" in html
    carrier_account = CarrierAccount.objects.get(account=owner.account)
    token = re.search(r"/webhooks/carriers/easypost/\?token=([\w-]+)", html).group(1)
    assert carrier_account.webhook_token_hash == webhook_token_hash(token)
    assert carrier_account.webhook_secret and carrier_account.webhook_secret in html
    assert token not in str(CarrierAccount.objects.filter(pk=carrier_account.pk).values().get())
    assert carrier_account.api_key == SECRET
    assert carrier_account.services_allowed == ["USPS", "UPS:Ground"]
    raw = raw_api_key(carrier_account)
    assert raw and SECRET not in raw
    entry = AuditLogEntry.objects.get(action="carrier_account.create")
    assert entry.actor == owner.user and entry.account_id == owner.account.pk
    assert SECRET not in str(entry.changes)


def test_easypost_and_shippo_need_a_key_and_the_sandbox_does_not(owner):
    client = client_for(owner)
    # when
    for provider in ("easypost", "shippo"):
        response = client.post(
            "/shipping/settings/carriers/new/", carrier_form(provider=provider, api_key="")
        )
        # then
        assert response.status_code == 200
        assert "needs an API key" in response.content.decode()
    assert not CarrierAccount.objects.exists()
    # and the sandbox is fine without one (its webhooks are set up on both sides at once)
    response = client.post("/shipping/settings/carriers/new/", carrier_form(provider="sandbox", api_key=""))
    assert response.status_code == 302
    assert SandboxWebhookEndpoint.objects.filter(customer=str(CarrierAccount.objects.get().pk)).exists()
    assert CarrierAccount.objects.get().provider == "sandbox"


def test_the_service_refuses_what_the_form_would_and_unknown_providers(owner):
    with pytest.raises(DomainError) as missing:
        carrier_account_create(account=owner.account, actor=None, provider="shippo", name="S", api_key="  ")
    assert "api_key" in missing.value.fields
    with pytest.raises(DomainError) as unknown:
        carrier_account_create(account=owner.account, actor=None, provider="fedex-direct", name="F")
    assert "provider" in unknown.value.fields
    with pytest.raises(DomainError) as services:
        carrier_account_create(
            account=owner.account, actor=None, provider="sandbox", name="F", services_allowed="USPS, <script>"
        )
    assert "services_allowed" in services.value.fields


def test_editing_with_an_empty_key_keeps_the_stored_key(owner):
    # given
    carrier_account = easypost_of(owner.account)
    client = client_for(owner)

    # when the edit page is shown, the key is not in it
    page = client.get(f"/shipping/settings/carriers/{carrier_account.pk}/edit/").content.decode()
    assert SECRET not in page and "•••• set" in page

    # and the account is renamed with the key field left empty
    response = client.post(
        f"/shipping/settings/carriers/{carrier_account.pk}/edit/",
        carrier_form(name="EasyPost (renamed)", api_key="", preference="3"),
    )

    # then the name changed and the key is the old one, still encrypted
    assert response.status_code == 302
    carrier_account.refresh_from_db()
    assert carrier_account.name == "EasyPost (renamed)" and carrier_account.preference == 3
    assert carrier_account.api_key == SECRET
    assert SECRET not in raw_api_key(carrier_account)
    entry = AuditLogEntry.objects.get(action="carrier_account.update")
    assert set(entry.changes) == {"name", "preference"}


def test_a_new_key_replaces_the_old_one(owner):
    carrier_account = easypost_of(owner.account)
    client_for(owner).post(
        f"/shipping/settings/carriers/{carrier_account.pk}/edit/", carrier_form(api_key="EZTK_rotated_1")
    )
    carrier_account.refresh_from_db()
    assert carrier_account.api_key == "EZTK_rotated_1"
    assert AuditLogEntry.objects.get(action="carrier_account.update").changes == {
        "api_key": ["[redacted]", "[redacted]"]
    }


def test_enable_disable_and_delete(owner):
    # given
    carrier_account = easypost_of(owner.account)
    client = client_for(owner)

    # when / then
    client.post(f"/shipping/settings/carriers/{carrier_account.pk}/toggle/")
    carrier_account.refresh_from_db()
    assert carrier_account.enabled is False
    client.post(f"/shipping/settings/carriers/{carrier_account.pk}/toggle/")
    carrier_account.refresh_from_db()
    assert carrier_account.enabled is True
    response = client.post(f"/shipping/settings/carriers/{carrier_account.pk}/delete/")
    assert response.status_code == 302
    assert not CarrierAccount.objects.filter(pk=carrier_account.pk).exists()
    assert AuditLogEntry.objects.filter(action="carrier_account.delete").count() == 1


def test_test_connection_shows_success_for_the_sandbox_inline_and_records_it(owner):
    # given
    carrier_account = sandbox_of(owner.account)

    # when the button is pressed (htmx)
    response = client_for(owner).post(f"/shipping/settings/carriers/{carrier_account.pk}/test/", headers=HTMX)

    # then the fragment shows the carrier's answer
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="carrier-test-{carrier_account.pk}"' in html and "<html" not in html
    assert "Connected" in html and "Sandbox carrier ready" in html
    carrier_account.refresh_from_db()
    assert carrier_account.last_test_ok is True and carrier_account.last_test_at is not None
    assert carrier_account.last_test_message.startswith("Sandbox carrier ready")


def test_a_refused_connection_shows_the_carriers_message_not_an_error_page(owner):
    # given a carrier that refuses the credentials
    carrier_account = sandbox_of(owner.account)
    CarrierAccount.objects.filter(pk=carrier_account.pk).update(
        options={"fault": "auth", "fault_on": ["test"]}
    )

    # when
    response = client_for(owner).post(f"/shipping/settings/carriers/{carrier_account.pk}/test/", headers=HTMX)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Failed" in html and "refused the credentials (401)" in html
    carrier_account.refresh_from_db()
    assert carrier_account.last_test_ok is False
    # and the page shows the last result afterwards
    page = client_for(owner).get("/shipping/settings/").content.decode()
    assert "refused the credentials (401)" in page


def test_test_connection_without_htmx_redirects_with_the_result(owner):
    carrier_account = sandbox_of(owner.account)
    client = client_for(owner)
    response = client.post(f"/shipping/settings/carriers/{carrier_account.pk}/test/", follow=True)
    assert response.redirect_chain[-1][0] == "/shipping/settings/#carriers"
    assert "Sandbox: connected." in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_service_calls_the_carrier_outside_a_transaction_and_returns_its_answer():
    owner = MembershipFactory()
    carrier_account = sandbox_of(owner.account)
    assert not connection.in_atomic_block
    ok, message = carrier_account_test(carrier_account=carrier_account, actor=owner.user)
    assert ok is True and message.startswith("Sandbox carrier ready")
    assert CarrierAccount.objects.get(pk=carrier_account.pk).last_test_ok is True


# --- the profile ---------------------------------------------------------------------------------


def test_saving_the_profile_changes_policy_format_warehouse_and_its_address(member):
    # given
    account = member.account
    WarehouseFactory(account=account, name="Main", code="MN", is_default=True)
    other = WarehouseFactory(account=account, name="East", code="EA")
    client = client_for(member)
    client.get("/shipping/settings/")

    # when
    response = client.post(
        "/shipping/settings/profile/",
        {
            "rate_policy": "cheapest_on_time",
            "label_format": "zpl",
            "ship_from": str(other.pk),
            "verify_addresses": "",
            "contact_name": "East Desk",
            "phone": "+1 555 0100",
            "address_line1": "9 Harbor Rd",
            "address_line2": "",
            "city": "Newark",
            "state": "NJ",
            "postal_code": "07102",
            "country": "us",
        },
    )

    # then
    assert response.status_code == 302
    profile = ShippingProfile.objects.get(account=account)
    assert (profile.rate_policy, profile.label_format, profile.ship_from, profile.verify_addresses) == (
        "cheapest_on_time",
        "zpl",
        other,
        False,
    )
    other.refresh_from_db()
    assert (other.address_line1, other.city, other.postal_code, other.country) == (
        "9 Harbor Rd",
        "Newark",
        "07102",
        "US",
    )
    assert set(AuditLogEntry.objects.values_list("action", flat=True)) >= {
        "shipping_profile.update",
        "warehouse.address_update",
    }


def test_the_profile_refuses_another_accounts_warehouse(member):
    foreign = WarehouseFactory()
    response = client_for(member).post(
        "/shipping/settings/profile/",
        {"rate_policy": "cheapest", "label_format": "pdf", "ship_from": str(foreign.pk)},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert ShippingProfile.objects.get(account=member.account).ship_from is None


# --- package presets -----------------------------------------------------------------------------


def preset_form(**overrides):
    data = {
        "name": "Small box",
        "length_mm": "200",
        "width_mm": "150",
        "height_mm": "100",
        "tare_grams": "80",
        "max_weight_grams": "2000",
    }
    data.update(overrides)
    return data


def test_adding_editing_and_deleting_a_package_preset(member):
    client = client_for(member)
    # when added
    response = client.post("/shipping/settings/presets/new/", preset_form())
    # then
    assert response.status_code == 302 and response.url == "/shipping/settings/#presets"
    preset = PackagePreset.objects.get(account=member.account)
    assert (preset.length_mm, preset.width_mm, preset.height_mm, preset.tare_grams) == (200, 150, 100, 80)
    assert "200 × 150 × 100" in client.get("/shipping/settings/").content.decode()
    # when edited
    client.post(
        f"/shipping/settings/presets/{preset.pk}/edit/", preset_form(name="Small box v2", height_mm="120")
    )
    preset.refresh_from_db()
    assert (preset.name, preset.height_mm) == ("Small box v2", 120)
    # when deleted
    client.post(f"/shipping/settings/presets/{preset.pk}/delete/")
    assert not PackagePreset.objects.exists()
    assert AuditLogEntry.objects.filter(action__startswith="package_preset.").count() == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [("length_mm", "0"), ("width_mm", "-5"), ("height_mm", "abc"), ("tare_grams", "-1"), ("length_mm", "")],
)
def test_bad_dimensions_are_form_errors(member, field, value):
    response = client_for(member).post("/shipping/settings/presets/new/", preset_form(**{field: value}))
    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()
    assert not PackagePreset.objects.exists()


def test_a_max_weight_below_the_empty_weight_is_refused(member):
    response = client_for(member).post(
        "/shipping/settings/presets/new/", preset_form(tare_grams="500", max_weight_grams="300")
    )
    assert "more than the empty box weighs" in response.content.decode()
    assert not PackagePreset.objects.exists()


def test_preset_names_are_unique_per_account(member):
    # given
    package_preset_create(
        account=member.account, actor=None, name="Mailer", length_mm=300, width_mm=200, height_mm=20
    )
    other = package_preset_create(
        account=member.account, actor=None, name="Cube", length_mm=100, width_mm=100, height_mm=100
    )
    client = client_for(member)

    # when the same name is added again (any case)
    response = client.post("/shipping/settings/presets/new/", preset_form(name="mailer"))
    # then
    assert response.status_code == 200
    assert "You already have a package called" in response.content.decode()
    assert PackagePreset.objects.filter(account=member.account).count() == 2
    # and renaming another preset to it is refused too
    response = client.post(f"/shipping/settings/presets/{other.pk}/edit/", preset_form(name="Mailer"))
    assert "You already have a package called" in response.content.decode()
    # but another account may use the name
    stranger = MembershipFactory()
    client_for(stranger).post("/shipping/settings/presets/new/", preset_form(name="Mailer"))
    assert PackagePreset.objects.filter(account=stranger.account, name="Mailer").exists()


# --- roles and tenancy ---------------------------------------------------------------------------


def test_viewers_read_the_page_but_every_post_is_403(viewer, owner):
    carrier_account = sandbox_of(owner.account)
    preset = package_preset_create(
        account=owner.account, actor=None, name="Box", length_mm=1, width_mm=1, height_mm=1
    )
    client = client_for(viewer)
    page = client.get("/shipping/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Save shipping settings" not in html and "Test connection" not in html
    assert re.search(r'<select name="label_format"[^>]*disabled', html)
    posts = [
        ("/shipping/settings/carriers/new/", carrier_form(provider="sandbox")),
        (f"/shipping/settings/carriers/{carrier_account.pk}/edit/", carrier_form(provider="sandbox")),
        (f"/shipping/settings/carriers/{carrier_account.pk}/toggle/", {}),
        (f"/shipping/settings/carriers/{carrier_account.pk}/delete/", {}),
        (f"/shipping/settings/carriers/{carrier_account.pk}/test/", {}),
        ("/shipping/settings/profile/", {"rate_policy": "fastest", "label_format": "pdf"}),
        ("/shipping/settings/presets/new/", preset_form()),
        (f"/shipping/settings/presets/{preset.pk}/edit/", preset_form()),
        (f"/shipping/settings/presets/{preset.pk}/delete/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    carrier_account.refresh_from_db()
    assert carrier_account.enabled and carrier_account.last_test_at is None
    assert PackagePreset.objects.filter(pk=preset.pk).exists()


def test_members_manage_presets_but_carrier_accounts_need_an_admin(member):
    carrier_account = sandbox_of(member.account)
    client = client_for(member)
    assert (
        client.post("/shipping/settings/carriers/new/", carrier_form(provider="sandbox")).status_code == 403
    )
    assert client.post(f"/shipping/settings/carriers/{carrier_account.pk}/delete/").status_code == 403
    assert client.post("/shipping/settings/presets/new/", preset_form()).status_code == 302
    html = client.get("/shipping/settings/").content.decode()
    assert "Test connection" not in html and "Add a package" in html


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/shipping/settings/carriers/{ca}/edit/", "get"),
        ("/shipping/settings/carriers/{ca}/toggle/", "post"),
        ("/shipping/settings/carriers/{ca}/test/", "post"),
        ("/shipping/settings/carriers/{ca}/delete/", "post"),
        ("/shipping/settings/presets/{preset}/edit/", "get"),
        ("/shipping/settings/presets/{preset}/delete/", "post"),
    ],
)
def test_another_accounts_carrier_accounts_and_presets_are_404(owner, path, method):
    carrier_account = sandbox_of(owner.account)
    preset = package_preset_create(
        account=owner.account, actor=None, name="Box", length_mm=1, width_mm=1, height_mm=1
    )
    url = path.format(ca=carrier_account.pk, preset=preset.pk)
    assert_other_account_gets_404(url, owner=owner, method=method)


def test_service_update_refuses_unknown_fields(owner):
    carrier_account = sandbox_of(owner.account)
    with pytest.raises(TypeError):
        carrier_account_update(carrier_account=carrier_account, actor=None, account=None)


def test_test_connection_reaches_easypost_through_its_sdk(owner, easypost_standin):
    # given one account with the right key and one with a revoked key, both against the stand-in
    good = carrier_account_create(
        account=owner.account, actor=None, provider="easypost", name="Good", api_key=easypost_standin.api_key
    )
    revoked = carrier_account_create(
        account=owner.account, actor=None, provider="easypost", name="Revoked", api_key="EZTKrevoked"
    )
    client = client_for(owner)

    # when both are tested
    ok_html = client.post(f"/shipping/settings/carriers/{good.pk}/test/", headers=HTMX).content.decode()
    bad = client.post(f"/shipping/settings/carriers/{revoked.pk}/test/", headers=HTMX)

    # then the good key names the EasyPost account, the revoked one explains itself on the page
    assert "Connected to EasyPost as Stand-in Shipper" in ok_html
    assert bad.status_code == 200 and "Failed" in bad.content.decode()
    revoked.refresh_from_db()
    assert revoked.last_test_ok is False and revoked.last_test_message
    assert revoked.last_test_message in bad.content.decode()


def test_a_new_webhook_url_replaces_the_old_one_and_is_shown_once(owner):
    # given a Shippo account set up with a webhook URL
    shippo = carrier_account_create(
        account=owner.account, actor=None, provider="shippo", name="Shippo", api_key="shippo_test_1"
    )
    client = client_for(owner)
    first = client.post(f"/shipping/settings/carriers/{shippo.pk}/webhook/").content.decode()
    old = re.search(r"\?token=([\w-]+)", first).group(1)

    # when the owner makes a new one
    response = client.post(f"/shipping/settings/carriers/{shippo.pk}/webhook/")

    # then a different URL is shown, the old one no longer works, and the settings page shows neither
    new = re.search(r"\?token=([\w-]+)", response.content.decode()).group(1)
    assert new != old and "no longer work" in response.content.decode()
    body = b'{"event": "track_updated", "data": {}}'
    assert (
        Client()
        .post(f"/webhooks/carriers/shippo/?token={old}", body, content_type="application/json")
        .status_code
        == 401
    )
    assert (
        Client()
        .post(f"/webhooks/carriers/shippo/?token={new}", body, content_type="application/json")
        .status_code
        == 200
    )
    settings_html = client.get("/shipping/settings/").content.decode()
    assert old not in settings_html and new not in settings_html


def test_only_carrier_managers_may_make_a_new_webhook_url_and_only_of_their_own_account(owner):
    shippo = carrier_account_create(
        account=owner.account, actor=None, provider="shippo", name="Shippo", api_key="shippo_test_1"
    )
    member = MembershipFactory(account=owner.account, role="member")
    assert client_for(member).post(f"/shipping/settings/carriers/{shippo.pk}/webhook/").status_code == 403
    assert_other_account_gets_404(
        f"/shipping/settings/carriers/{shippo.pk}/webhook/", owner=owner, method="post"
    )
