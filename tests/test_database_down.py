"""The database goes away under a running server (production settings, gunicorn): webhooks and the
API answer 503 with Retry-After and the JSON error shape, people get a plain page, the log gets one
line per request and no traceback, and everything answers normally once the database is back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from creatorflow.core.testing_servers import AppProcess, OwnPostgres, app_env, free_port
from tiktok.signing import webhook_sign

APP_KEY, APP_SECRET = "dbdown-app-key", "dbdown-app-secret"


def request(url: str, *, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(req, timeout=20) as response:  # noqa: S310 - our own loopback server
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def signed_webhook(n: int) -> tuple[bytes, dict]:
    body = json.dumps(
        {"type": 1, "tts_notification_id": f"dbdown-{n}", "shop_id": "1", "timestamp": 1,
         "data": {"order_id": str(n), "order_status": "UNPAID", "update_time": 1}},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    return body, {"Authorization": webhook_sign(app_key=APP_KEY, app_secret=APP_SECRET, body=body),
                  "Content-Type": "application/json"}  # fmt: skip


@pytest.fixture
def server_with_its_own_database(tmp_path):
    database = OwnPostgres()
    web = None
    try:
        env = app_env(
            STATIC_ROOT=str(tmp_path / "static"),
            DATABASE_URL=database.create_database("cf_dbdown"),
            REDIS_URL="",
            CELERY_BROKER_URL="memory://",
            TIKTOK_APP_KEY=APP_KEY,
            TIKTOK_APP_SECRET=APP_SECRET,
        )
        AppProcess.manage(env, "migrate", "--noinput")
        AppProcess.manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        port = free_port()
        web = AppProcess.gunicorn(env, port=port)
        yield f"http://127.0.0.1:{port}", database, web
    finally:
        if web is not None:
            web.stop()
        database.remove()


@pytest.mark.postgres
def test_the_database_down_is_a_plain_503_everywhere_and_recovers(server_with_its_own_database):
    base, database, web = server_with_its_own_database
    # given a server that answers normally
    body, headers = signed_webhook(1)
    assert request(f"{base}/webhooks/tiktok/", body=body, headers=headers)[0] == 200
    assert request(f"{base}/accounts/login/")[0] == 200

    # when its database stops
    database.stop()

    # then a webhook is told to come back later, with the JSON error shape
    body, headers = signed_webhook(2)
    status, answer_headers, content = request(f"{base}/webhooks/tiktok/", body=body, headers=headers)
    assert status == 503
    assert int(answer_headers["Retry-After"]) > 0
    assert json.loads(content)["error"]["code"] == "service_unavailable"
    # and so is an API caller
    status, answer_headers, content = request(f"{base}/api/orders/", headers={"Authorization": "Token abc"})
    assert status == 503 and "Retry-After" in answer_headers
    assert json.loads(content)["error"]["code"] == "service_unavailable"
    # and a person sees a plain page, on the sign-in page and the dashboard alike
    for path in ("/accounts/login/", "/"):
        status, answer_headers, content = request(f"{base}{path}")
        assert status == 503 and "Retry-After" in answer_headers
        assert "temporarily unavailable" in content.decode()
    # and the log has one line per request, no traceback
    log = web.output()
    assert log.count("database unavailable") >= 4
    assert "Traceback" not in log

    # when the database is back
    database.start()

    # then everything answers again (the broken connections were replaced)
    body, headers = signed_webhook(3)
    assert request(f"{base}/webhooks/tiktok/", body=body, headers=headers)[0] == 200
    assert request(f"{base}/accounts/login/")[0] == 200
