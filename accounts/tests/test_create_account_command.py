import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Account, ApiToken, Membership, Role, User

pytestmark = pytest.mark.django_db

STRONG = "orchid-lantern-42-walrus"
ROOT = Path(__file__).resolve().parents[2]


def _run(**kwargs) -> str:
    out = StringIO()
    call_command("create_account", stdout=out, **kwargs)
    return out.getvalue()


def test_prints_exactly_one_json_line_with_a_working_token():
    # when
    output = _run(email="ops@example.com", password=STRONG, account_name="Ops Shop")

    # then
    lines = output.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == {"account_id", "user_id", "api_token"}
    user = User.objects.get(pk=data["user_id"])
    assert user.email == "ops@example.com" and user.check_password(STRONG)
    assert Membership.objects.get(user=user, account_id=data["account_id"]).role == Role.OWNER
    me = Client(headers={"Authorization": f"Token {data['api_token']}"}).get("/api/me")
    assert me.status_code == 200 and me.json()["account"]["id"] == data["account_id"]


def test_is_idempotent_on_the_email():
    # given
    first = json.loads(_run(email="ops@example.com", password=STRONG, account_name="Ops Shop"))

    # when
    second = json.loads(_run(email="OPS@example.com", password=STRONG, account_name="Ops Shop"))

    # then
    assert (second["account_id"], second["user_id"]) == (first["account_id"], first["user_id"])
    assert (User.objects.count(), Account.objects.count(), Membership.objects.count()) == (1, 1, 1)
    assert second["api_token"] != first["api_token"] and ApiToken.objects.count() == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email": "not-an-email", "password": STRONG, "account_name": "X"}, "valid email"),
        ({"email": "a@example.com", "password": "123", "account_name": "X"}, "password"),
        ({"email": "a@example.com", "password": "", "account_name": "X"}, "password"),
        ({"email": "a@example.com", "password": STRONG, "account_name": "  "}, "business name"),
    ],
)
def test_bad_input_is_a_command_error_with_a_message(kwargs, message):
    with pytest.raises(CommandError, match=message):
        _run(**kwargs)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "nope", "--password", STRONG, "--account-name", "X"], "Enter a valid email address."),
        (["--email", "a@example.com", "--password", "password", "--account-name", "X"], "too weak"),
        (["--email", "a@example.com", "--account-name", "X"], "--password"),
    ],
)
def test_bad_input_from_the_shell_exits_non_zero_without_a_traceback(args, message):
    # when
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "creatorflow.settings_test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "create_account", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # then
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
