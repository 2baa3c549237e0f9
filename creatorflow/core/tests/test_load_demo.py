"""`load_demo` creates its superuser (published password) only with DEBUG on, as `make run` sets it."""

import io

import pytest
from django.core.management import call_command

from accounts.models import User
from creatorflow.core.management.commands.load_demo import DEMO_EMAIL, DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD

pytestmark = pytest.mark.django_db


def _load_demo() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("load_demo", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_without_debug_the_demo_loads_but_no_superuser_is_created(settings):
    # given a deployment's settings: DEBUG off
    settings.DEBUG = False

    # when the demo is loaded
    out, err = _load_demo()

    # then the demo creator is there, the superuser is not, and stderr says why and what to run
    assert User.objects.filter(email=DEMO_EMAIL).exists()
    assert not User.objects.filter(email=DEMO_STAFF_EMAIL).exists()
    assert not User.objects.filter(is_superuser=True).exists()
    assert "DEBUG is off" in err and "manage.py createsuperuser" in err
    assert DEMO_STAFF_PASSWORD not in out + err
    assert "demo is ready" in out


def test_with_debug_the_superuser_is_created_once(settings):
    # given local development, as `make run` runs it
    settings.DEBUG = True

    # when the demo is loaded twice
    out, err = _load_demo()
    _load_demo()

    # then the demo superuser exists (once), can sign in, and its login is printed
    staff = User.objects.get(email=DEMO_STAFF_EMAIL)
    assert staff.is_staff and staff.is_superuser and staff.check_password(DEMO_STAFF_PASSWORD)
    assert User.objects.filter(is_superuser=True).count() == 1
    assert f"{DEMO_STAFF_EMAIL} / {DEMO_STAFF_PASSWORD}" in out
    assert "createsuperuser" not in err
