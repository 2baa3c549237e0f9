"""`manage.py tiktok_sandbox`: the TikTok Shop sandbox with the demo shop, serving until stopped."""

from __future__ import annotations

import signal
import threading
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tiktok.sandbox import Sandbox
from tiktok.sandbox.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SERVICE_ID, DEMO_SHOP_ID, seed_demo
from tiktok.sandbox.scenarios import SCENARIOS

DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/webhooks/tiktok/"
DEFAULT_REDIRECT_URL = "http://127.0.0.1:8000/tiktok/oauth/callback/"
NO_WEBHOOKS = ("", "none", "off")


def _http_url(option: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(f"--{option} must be an http(s) URL, not {value!r}")
    return value


class Command(BaseCommand):
    help = "Run the TikTok Shop sandbox (Open API, auth host, consent page) with the demo shop."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default=8765, help="port to listen on (0 picks a free one)")
        parser.add_argument(
            "--scenario", default="steady", help=f"order generator: {', '.join(SCENARIOS)} or none"
        )
        parser.add_argument("--rate-multiplier", default=1.0, help="speed the scenario up (default 1)")
        parser.add_argument(
            "--webhook-url", default=DEFAULT_WEBHOOK_URL, help="where webhooks go ('none' sends none)"
        )
        parser.add_argument("--redirect-url", default=DEFAULT_REDIRECT_URL, help="OAuth callback")

    def handle(self, *args, **options):
        sandbox = Sandbox(**self._config(options))
        seed_demo(sandbox)
        try:
            sandbox.start()
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        stop = threading.Event()
        self._install_signals(stop)
        try:
            if options["scenario"] != "none":
                sandbox.start_scenario(options["scenario"], rate_multiplier=self._multiplier(options))
            self.stdout.write(
                f"TikTok Shop sandbox on {sandbox.base_url} (shop {DEMO_SHOP_ID}, "
                f"scenario {options['scenario']}, webhooks to {sandbox.webhook_url or 'nowhere'})"
            )
            self.stdout.flush()
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            sandbox.stop()

    def _config(self, options) -> dict:
        try:
            port = int(options["port"])
        except (TypeError, ValueError) as exc:
            raise CommandError(f"--port must be an integer, not {options['port']!r}") from exc
        if not 0 <= port <= 65535:
            raise CommandError(f"--port must be 0..65535, not {port}")
        if options["scenario"] not in (*SCENARIOS, "none"):
            raise CommandError(
                f"--scenario must be one of {', '.join(SCENARIOS)} or none, not {options['scenario']!r}"
            )
        self._multiplier(options)
        host = (options["host"] or "").strip()
        if not host:
            raise CommandError("--host must not be empty")
        webhook = options["webhook_url"]
        webhook = (
            None if webhook is None or webhook.lower() in NO_WEBHOOKS else _http_url("webhook-url", webhook)
        )
        return {
            "app_key": getattr(settings, "TIKTOK_APP_KEY", "") or DEMO_APP_KEY,
            "app_secret": getattr(settings, "TIKTOK_APP_SECRET", "") or DEMO_APP_SECRET,
            "service_id": getattr(settings, "TIKTOK_SERVICE_ID", "") or DEMO_SERVICE_ID,
            "host": host,
            "port": port,
            "webhook_url": webhook,
            "redirect_url": _http_url("redirect-url", options["redirect_url"]),
        }

    @staticmethod
    def _multiplier(options) -> float:
        try:
            value = float(options["rate_multiplier"])
        except (TypeError, ValueError) as exc:
            raise CommandError("--rate-multiplier must be a number") from exc
        if not value > 0:
            raise CommandError("--rate-multiplier must be positive")
        return value

    @staticmethod
    def _install_signals(stop: threading.Event) -> None:
        """SIGINT/SIGTERM end the wait; only the main thread may install handlers."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
