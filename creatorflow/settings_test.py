"""Settings for the test suite: the production settings with test-only secrets and plain HTTP.

DATABASE_URL / REDIS_URL are honoured exactly as in production (CI sets PostgreSQL and Redis).
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWtleS0wMTIzNDU2Nzg5YWI=")

from .settings import *  # noqa: E402,F403
from .settings import VAR_DIR  # noqa: E402

ALLOWED_HOSTS = ["*"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns about a missing root)
MEDIA_ROOT = str(VAR_DIR / "test-media")
# The demo loader leaves its seeded orders for the TikTok sandbox here; never the real demo's file.
TIKTOK_SANDBOX_DEMO_ORDERS = str(VAR_DIR / "test-sandbox-demo-orders.json")
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    CELERY_BROKER_DIR = VAR_DIR / "test-celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
# Rate limits are off by default in tests (every test shares one address); their own tests turn them on.
API_THROTTLE_ENABLED = False
FORM_THROTTLE_ENABLED = False
