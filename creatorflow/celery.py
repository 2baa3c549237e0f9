"""The Celery application: configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creatorflow.settings")

app = Celery("creatorflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("default", "webhooks", "integrations", "bulk")]
app.autodiscover_tasks()


def _ensure_filesystem_broker_dirs() -> None:
    """The embedded default's broker is a folder: make sure its folders exist before connecting."""
    from pathlib import Path

    options = app.conf.broker_transport_options or {}
    if str(app.conf.broker_url or "").startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)


app.on_after_configure.connect(lambda sender, **kw: _ensure_filesystem_broker_dirs(), weak=False)
