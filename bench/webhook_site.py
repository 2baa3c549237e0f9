"""Settings for the webhook benchmark's gunicorn: production settings plus one bare view.

`bench_webhook_ingest` serves both endpoints from the same gunicorn, the same workers and the same
middleware, so the only difference it measures is what the webhook endpoint itself does.
"""

from creatorflow.settings import *  # noqa: F403 - the production settings, unchanged but for the URLconf

ROOT_URLCONF = "bench.webhook_urls"
