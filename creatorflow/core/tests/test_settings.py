"""Settings fail safe: production defaults unless DEBUG, and a missing secret stops start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FERNET_KEY = "dGVzdC1vbmx5LWZpZWxkLWtleS0wMTIzNDU2Nzg5YWI="


def manage(*args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS"}}
    env["DJANGO_SETTINGS_MODULE"] = "creatorflow.settings"
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def production_env():
    return {
        "SECRET_KEY": "prod-like-" + "k3y" * 20,
        "ALLOWED_HOSTS": "app.creatorflow.example",
        "FIELD_ENCRYPTION_KEYS": FERNET_KEY,
    }


def test_check_deploy_is_clean_with_production_like_settings(production_env):
    # when
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env)

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_defaults_to_false_and_missing_secret_key_stops_start_up(production_env):
    # given
    env = dict(production_env)
    del env["SECRET_KEY"]

    # when
    result = manage("check", **env)

    # then
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_encryption_keys_stop_start_up_in_production(production_env):
    # given
    env = dict(production_env)
    del env["FIELD_ENCRYPTION_KEYS"]

    # when
    result = manage("check", **env)

    # then
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr


def test_debug_mode_runs_without_secrets():
    # when
    result = manage("check", DEBUG="true")

    # then
    assert result.returncode == 0, result.stderr


def test_migrate_alone_prepares_the_database_cache(tmp_path):
    # given: a brand-new embedded database and no Redis
    database = tmp_path / "fresh.sqlite3"
    env = {"DEBUG": "true", "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": "", "CELERY_BROKER_URL": ""}

    # when: an operator runs only `migrate`
    result = manage("migrate", "--noinput", "-v0", **env)

    # then: the cache table exists too (no separate createcachetable step to forget)
    assert result.returncode == 0, result.stderr
    import sqlite3

    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "cf_cache" in tables


@pytest.mark.django_db
@pytest.mark.parametrize("cookie", ["abcdefgh\x00ijkl", "\x00" * 32, "A" * 32, "x" * 40, "../../etc"])
def test_a_session_cookie_django_never_issued_is_no_session_not_an_error(client, cookie):
    # given a creator's browser sending a junk session id
    client.cookies["sessionid"] = cookie

    # when it opens the dashboard and the login page
    dashboard = client.get("/")
    login_page = client.get("/accounts/login/")

    # then it is simply signed out
    assert dashboard.status_code == 302 and "/accounts/login/" in dashboard["Location"]
    assert login_page.status_code == 200


@pytest.mark.django_db
def test_a_real_session_still_signs_in(client):
    from accounts.tests.factories import MembershipFactory

    # given a signed-in creator (the store issued their key)
    client.force_login(MembershipFactory().user, backend="django.contrib.auth.backends.ModelBackend")

    # when / then
    assert client.get("/").status_code == 200
