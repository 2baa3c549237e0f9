import pytest
from django.test import Client

from accounts import services
from accounts.models import ApiToken, Invitation
from accounts.tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("model", ["user", "account", "membership", "invitation", "apitoken"])
def test_changelists_and_change_pages_render_without_secrets(
    staff_client, model, django_capture_on_commit_callbacks
):
    # given
    owner = MembershipFactory()
    token, key = services.api_token_create(user=owner.user, account=owner.account, name="ci")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            account=owner.account, email="i@example.com", role="member", actor=owner.user
        )
    objects = {
        "user": owner.user,
        "account": owner.account,
        "membership": owner,
        "invitation": Invitation.objects.get(),
        "apitoken": token,
    }

    # when
    listing = staff_client.get(f"/admin/accounts/{model}/")
    change = staff_client.get(f"/admin/accounts/{model}/{objects[model].pk}/change/")

    # then
    assert listing.status_code == 200 and change.status_code == 200
    for page in (listing, change):
        html = page.content.decode()
        assert key not in html and token.key_hash not in html
        assert Invitation.objects.get().token_hash not in html


def test_staff_can_add_a_user_by_email(staff_client):
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "added@example.com",
            "full_name": "Added",
            "usable_password": "true",
            "password1": "orchid-lantern-42-walrus",
            "password2": "orchid-lantern-42-walrus",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert UserFactory._meta.model.objects.get(email="added@example.com").check_password(
        "orchid-lantern-42-walrus"
    )


def test_staff_can_revoke_tokens_with_the_admin_action(staff_client):
    owner = MembershipFactory()
    token, _key = services.api_token_create(user=owner.user, account=owner.account, name="leaked")
    response = staff_client.post(
        "/admin/accounts/apitoken/", {"action": "revoke_selected", "_selected_action": [str(token.pk)]}
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
