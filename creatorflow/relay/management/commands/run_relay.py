"""`python manage.py run_relay`: send inbox and outbox messages off the request path (creatorflow.relay)."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from creatorflow.relay.service import POLL_SECONDS, run_relay


class Command(BaseCommand):
    help = "Send the messages for stored webhooks and outbox rows; recover lost and stuck work. Runs until stopped."

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll", type=float, default=POLL_SECONDS, help="seconds between passes with no notification"
        )

    def handle(self, *args, poll: float, **options):
        if poll <= 0:
            from django.core.management.base import CommandError

            raise CommandError("--poll must be a positive number of seconds")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("relay: sending inbox and outbox messages (Ctrl-C stops)")
        run_relay(stop=stop, poll_seconds=poll)
