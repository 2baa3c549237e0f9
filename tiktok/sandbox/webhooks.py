"""Signed webhook delivery from a background thread.

State changes only enqueue a message; this thread builds the exact bytes, signs them with
`tiktok.signing.webhook_sign` and POSTs them. A failed delivery is retried a couple of times quickly
(TikTok waits minutes; tests cannot) and then counted as failed.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from itertools import count

from tiktok.signing import webhook_sign

RETRY_DELAYS = (0.05, 0.2)
TIMEOUT_S = 3.0
LOG_SIZE = 10_000
_STOP = object()


class WebhookSender:
    def __init__(self, *, app_key: str, app_secret: str, url: str | None, faults, seed: int):
        self.app_key = app_key
        self.app_secret = app_secret
        self.url = url
        self.faults = faults
        self._queue: queue.Queue = queue.Queue()
        self._ids = count(7_380_066_284_010_030_000 + seed * 1_000_000)
        self._lock = threading.Lock()
        self._stats = {"sent": 0, "failed": 0, "dropped": 0}
        self.log: deque[dict] = deque(maxlen=LOG_SIZE)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tiktok-sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    @property
    def stats(self) -> dict:
        with self._lock:
            return dict(self._stats)

    def _count(self, name: str) -> None:
        with self._lock:
            self._stats[name] += 1

    def enqueue(self, shop_id: str, type_: int, data: dict) -> dict:
        """Record the notification and hand it to the sender; never blocks, never does I/O."""
        payload = {
            "type": int(type_),
            "tts_notification_id": str(next(self._ids)),
            "shop_id": str(shop_id),
            "timestamp": int(time.time()),
            "data": data,
        }
        self.log.append(payload)
        if self.faults.drop_webhooks or not self.url:
            self._count("dropped")
        else:
            self._queue.put(payload)
        return payload

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued webhook has been delivered or given up. False on timeout."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def _run(self) -> None:
        while True:
            payload = self._queue.get()
            try:
                if payload is _STOP:
                    return
                self._deliver(payload)
            except Exception:  # noqa: BLE001 - one bad message must not stop the sender thread
                self._count("failed")
            finally:
                self._queue.task_done()

    def _deliver(self, payload: dict) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": webhook_sign(app_key=self.app_key, app_secret=self.app_secret, body=body),
        }
        for attempt in range(len(RETRY_DELAYS) + 1):
            if self.faults.drop_webhooks:
                self._count("dropped")
                return
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                    if 200 <= response.status < 300:
                        self._count("sent")
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if attempt < len(RETRY_DELAYS):
                time.sleep(RETRY_DELAYS[attempt])
        self._count("failed")
