"""CreatorFlow settings.

Everything an operator may change is read from the environment (django-environ, `.env` honoured);
the names are part of CONTRACT.md section 2. The embedded default (no env at all, DEBUG=true) runs on
SQLite and a filesystem Celery broker under ``var/``; production sets DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (or .env), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    # cross-cutting plumbing
    "creatorflow.core",
    "creatorflow.inbox",
    "creatorflow.outbox",
    "creatorflow.audit",
    "creatorflow.resilience",
    "creatorflow.health",
    "creatorflow.relay",
    # product apps
    "accounts",
    "tiktok",
    "orders",
    "inventory",
    "shipping",
    "billing",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # CSP, Permissions-Policy and private caching on everything below, static files included
    "creatorflow.core.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # before anything that may query: the database down is a plain 503, not a traceback per request
    "creatorflow.core.middleware.DatabaseUnavailableMiddleware",
    # no request waits on the broker: what needs a message is left for the relay
    "creatorflow.core.middleware.DeferDispatchMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentAccountMiddleware",
    "creatorflow.audit.middleware.AuditContextMiddleware",
    # axes must be last: it turns a lockout signal into a response
    "axes.middleware.AxesMiddleware",
]

# Response headers set by creatorflow.core.headers.SecurityHeadersMiddleware. Scripts and styles
# come only from our own static files: no inline code, no eval (templates use data attributes
# handled by static/js/app.js; htmx's indicator <style> is off and its rules are in app.css).
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    ),
)
# Browser features the dashboard never uses, switched off for every page (and anything it embeds).
PERMISSIONS_POLICY = env.str(
    "PERMISSIONS_POLICY",
    default=", ".join(
        f"{feature}=()"
        for feature in (
            "accelerometer",
            "camera",
            "display-capture",
            "geolocation",
            "gyroscope",
            "hid",
            "magnetometer",
            "microphone",
            "midi",
            "payment",
            "serial",
            "usb",
        )
    ),
)

ROOT_URLCONF = "creatorflow.urls"
WSGI_APPLICATION = "creatorflow.wsgi.application"
ASGI_APPLICATION = "creatorflow.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.current_account",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one file in the embedded default: wait for locks rather than
    # failing, take the write lock up front, and let readers proceed during writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USING_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")

# --- redis / cache ----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cf",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cf_cache",
            # Circuit-breaker state lives here in the embedded default: never cull it early.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- celery -------------------------------------------------------------------------------------
CELERY_QUEUES = ("default", "webhooks", "integrations", "bulk")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
CELERY_BROKER_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # No countdown in this code base is longer than this: long retries are rows that beat picks up.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Which queue a task goes to is decided here, by task name, not on the task (Celery 6 drops that).
# Webhook processing is kept apart so a slow integration never delays intake; calls to outside
# platforms share `integrations`; long batch work goes to `bulk`.
CELERY_TASK_ROUTES = {
    "inbox.process_event": {"queue": "webhooks"},
    "tiktok.*": {"queue": "integrations"},
    "shipping.*": {"queue": "integrations"},
    "billing.*": {"queue": "integrations"},
    "bulk.*": {"queue": "bulk"},
}
CELERY_TASK_CREATE_MISSING_QUEUES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True

# --- auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Failed logins: locked out per IP and, separately, per account email.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Locked: this email from this address. A failure count for an email alone would let anyone lock
# its owner out from anywhere; the address alone, everyone behind one office NAT. A per-address
# ceiling over all emails (accounts.axes.LoginLockoutHandler) still stops one address guessing many.
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=50)
AXES_CLIENT_IP_CALLABLE = "creatorflow.core.net.client_ip"
AXES_HANDLER = "accounts.axes.LoginLockoutHandler"
# Failures during a lockout do not start the cool-off again: it ends when it said it would.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "email"
# The dashboard's form says `email`, the admin's says `username`: count failures per address in both.
AXES_USERNAME_CALLABLE = "accounts.axes.login_identifier"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"

# --- i18n / time ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static / media ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- email ------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CreatorFlow <no-reply@creatorflow.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- security (fail safe: production defaults unless DEBUG) -----------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")  # Bearer token for the full health checks ("" = none)
SESSION_COOKIE_HTTPONLY = True
# The database store, refusing session keys it could not have issued (creatorflow.core.sessions).
SESSION_ENGINE = "creatorflow.core.sessions"
# How many reverse proxies in front of us append to X-Forwarded-For (0: ignore the header). One
# setting for the audit log, login lockout and rate limits (creatorflow.core.net.client_ip); the
# older AUDIT_TRUSTED_PROXY_COUNT is still read when TRUSTED_PROXY_COUNT is not set.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=env.int("AUDIT_TRUSTED_PROXY_COUNT", default=0))

# --- encrypted fields ---------------------------------------------------------------------------
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set. Generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        )
    # Development only: a fixed key so the demo's stored tokens survive restarts.
    FIELD_ENCRYPTION_KEYS = ["ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtISE="]

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "creatorflow.core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Sliding windows in the shared cache (creatorflow.core.throttling): the narrowest scope first,
    # a token (or signed-in user), then the client's address, then everyone together.
    "DEFAULT_THROTTLE_CLASSES": ["creatorflow.core.throttling.ApiThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="100/min"),
        "ip": env.str("API_THROTTLE_IP", default="500/min"),
        "global": env.str("API_THROTTLE_GLOBAL", default="1000/min"),
    },
}
API_THROTTLE_ENABLED = env.bool("API_THROTTLE_ENABLED", default=True)
# The forms people can abuse: per client address, and per email address where there is one.
FORM_THROTTLE_ENABLED = env.bool("FORM_THROTTLE_ENABLED", default=True)
FORM_THROTTLE_RATES = {
    "login": env.str("THROTTLE_LOGIN", default="30/min"),
    "signup": env.str("THROTTLE_SIGNUP", default="10/hour"),
    "signup_email": env.str("THROTTLE_SIGNUP_EMAIL", default="3/hour"),
    "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="10/hour"),
    "password_reset_email": env.str("THROTTLE_PASSWORD_RESET_EMAIL", default="3/hour"),
    "invite": env.str("THROTTLE_INVITE", default="30/hour"),
    "invite_email": env.str("THROTTLE_INVITE_EMAIL", default="3/hour"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CreatorFlow API",
    "DESCRIPTION": "Fulfillment automation for TikTok Shop creators.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several components have a `status` field with different values: name each enum once.
    "ENUM_NAME_OVERRIDES": {
        "HealthStatusEnum": ["healthy", "degraded", "unhealthy"],
        "OrderStatusEnum": "orders.models.OrderStatus",
    },
}

# --- external platforms (CONTRACT.md section 2) ---------------------------------------------------
TIKTOK_APP_KEY = env.str("TIKTOK_APP_KEY", default="")
TIKTOK_APP_SECRET = env.str("TIKTOK_APP_SECRET", default="")
TIKTOK_SERVICE_ID = env.str("TIKTOK_SERVICE_ID", default="")
TIKTOK_API_BASE_URL = env.str("TIKTOK_API_BASE_URL", default="https://open-api.tiktokglobalshop.com")
TIKTOK_AUTH_BASE_URL = env.str("TIKTOK_AUTH_BASE_URL", default="https://auth.tiktok-shops.com")
TIKTOK_AUTHORIZE_URL = env.str(
    "TIKTOK_AUTHORIZE_URL", default="https://services.tiktokshop.com/open/authorize"
)
# Seconds to wait for TikTok's answer: a hanging TikTok must free the worker and open the breaker fast.
TIKTOK_READ_TIMEOUT_S = env.float("TIKTOK_READ_TIMEOUT_S", default=6.0)
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE_URL = env.str("STRIPE_API_BASE_URL", default="https://api.stripe.com")
EASYPOST_API_BASE_URL = env.str("EASYPOST_API_BASE_URL", default="https://api.easypost.com/v2")
# No longer used (CONTRACT.md §2): each carrier account has its own webhook token and secret.
SHIPPO_API_BASE_URL = env.str("SHIPPO_API_BASE_URL", default="https://api.goshippo.com")
SHIPPING_CARRIER_TIMEOUT = env.float("SHIPPING_CARRIER_TIMEOUT", default=10.0)
# The built-in sandbox carrier posts its signed tracking webhooks here ("" = store them directly).
SHIPPING_SANDBOX_WEBHOOK_URL = env.str("SHIPPING_SANDBOX_WEBHOOK_URL", default="")
# Seconds of real time per sandbox tracking step (pre_transit -> in_transit -> out_for_delivery -> delivered).
SHIPPING_SANDBOX_STEP_SECONDS = env.int("SHIPPING_SANDBOX_STEP_SECONDS", default=120)

# --- logging / sentry ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:  # pragma: no cover - needs a DSN
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
