"""Tangguh settings: one module, driven by the environment, safe development defaults.

Production is `TANGGUH_ENV=production`: then every secret must come from the environment and
DEBUG is off. Anything malformed stops the process at start-up (see immigration/env.py).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from immigration import dev_secrets
from immigration.env import envbool, envfloat, envint, envsecret, envstr
from immigration.operations.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("TANGGUH_VAR_DIR", str(BASE_DIR / "var")))

TANGGUH_ENV = envstr("TANGGUH_ENV", "development")
if TANGGUH_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("TANGGUH_ENV must be 'development' or 'production'")
PRODUCTION = TANGGUH_ENV == "production"

_SECRET_NAMES = ("SECRET_KEY", "PII_KEYS", "PII_INDEX_KEY", "CENTRAL_PRINTING_SECRET",
                 "AUDIT_SIGNING_KEY")
_secrets: dict[str, str | None] = {name: envsecret(name) for name in _SECRET_NAMES}
if PRODUCTION:
    missing = [name for name, value in _secrets.items() if not value]
    if missing:
        raise ImproperlyConfigured(f"production needs these secrets: {', '.join(missing)}")
elif not all(_secrets.values()):
    generated = dev_secrets.load(VAR_DIR / "dev-secrets.json")
    _secrets = {name: value or generated[name] for name, value in _secrets.items()}


def _secret(name: str) -> str:
    value = _secrets[name]
    assert value is not None
    return value


SECRET_KEY = _secret("SECRET_KEY")
# Applicant data at rest: "version:base64key" pairs, comma separated; the first is used to
# encrypt, all are tried to decrypt (rotation). The blind-index key is separate so rotating the
# encryption key does not force a re-index.
PII_KEYS = _secret("PII_KEYS")
PII_INDEX_KEY = _secret("PII_INDEX_KEY")
CENTRAL_PRINTING_SECRET = _secret("CENTRAL_PRINTING_SECRET")
# Billing is signed the same way; it shares central's secret unless given its own.
BILLING_SECRET = envsecret("BILLING_SECRET") or CENTRAL_PRINTING_SECRET

DEBUG = envbool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = [h.strip() for h in envstr("ALLOWED_HOSTS", "*" if DEBUG else "").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in envstr("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "pwa",
    "queueing",
    "immigration",
    "immigration.dossier",
    "immigration.counter",
    "immigration.notify",
    "immigration.oversight",
    "immigration.audit",
    "immigration.signin",
    "frontend",
]

MIDDLEWARE = [
    "immigration.operations.middleware.RequestTracingMiddleware",  # ops: first, so all get an id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "immigration.middleware.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "immigration.signin.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "immigration.middleware.PrivateByDefaultMiddleware",
    # Last (innermost): its lockout answer still gets the headers of the middleware above.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "immigration.urls"
WSGI_APPLICATION = "immigration.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Embedded default: SQLite in WAL mode. IMMEDIATE transactions take the write lock up front, so
# two writers queue on the busy timeout instead of failing with "database is locked" when a
# read lock would have to be upgraded mid-transaction.
DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tangguh.sqlite3'}")
try:
    _db: dict[str, Any] = dict(
        dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60, minimum=0))
    )
except Exception as exc:  # dj_database_url raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": envint("SQLITE_BUSY_TIMEOUT_SECONDS", 20, minimum=1),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not Django's in-memory default: worker processes, threads and the live
    # server must all see the same database, as in production.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test-tangguh.sqlite3")}
    VAR_DIR.mkdir(parents=True, exist_ok=True)
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast when the database is gone: the API answers 503 rather than hanging.
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", envint("DB_CONNECT_TIMEOUT", 3))
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis and Celery -----------------------------------------------------------------------
REDIS_URL = envstr("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = False
# Reliability: a task is acknowledged only after it ran, and is given back to the broker if the
# worker process dies. Prefetch 1 so a dead worker strands at most one kick. The visibility
# timeout is far above the hard time limit, so Redis never redelivers a task that is still
# running. None of this is load-bearing for durability (the database is), it only keeps kicks
# prompt.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    # The request path publishes the after-commit kick: a dead Redis must cost it at most
    # about a second, never a hang.
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "max_retries": 0,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "queueing-sweep": {
        "task": "queueing.sweep",
        "schedule": envfloat("QUEUE_SWEEP_SECONDS", 5.0, minimum=0.5),
    },
    "queueing-purge-delivered": {"task": "queueing.purge_delivered", "schedule": 86400.0},
    "immigration-purge-idempotency": {
        "task": "immigration.purge_expired_idempotency",
        "schedule": 3600.0,
    },
    "dossier-purge-expired-uploads": {"task": "dossier.purge_expired_uploads", "schedule": 3600.0},
    "privacy-retention": {"task": "privacy.retention", "schedule": 3600.0},
    "oversight-sample-queues": {"task": "oversight.sample_queues", "schedule": 60.0},
    "audit-seal": {"task": "audit.seal", "schedule": envfloat("AUDIT_SEAL_SECONDS", 5.0,
                                                               minimum=0.5)},
    "audit-export-head": {"task": "audit.export_head", "schedule": 86400.0},
}

# --- Delivery (queueing) --------------------------------------------------------------------
QUEUEING: dict[str, Any] = {
    "REDIS_URL": REDIS_URL,
    "BATCH_SIZE": envint("QUEUE_BATCH_SIZE", 50, minimum=1),
    "LEASE_SECONDS": envint("QUEUE_LEASE_SECONDS", 60, minimum=5),
    # A worker that stops announcing its leases for this long is taken for dead and its leases
    # end at the next sweep, not after LEASE_SECONDS (queueing/liveness.py).
    "LIVENESS_SECONDS": envfloat("QUEUE_LIVENESS_SECONDS", 3.0, minimum=1.0),
    "BACKOFF_BASE_SECONDS": envfloat("QUEUE_BACKOFF_BASE_SECONDS", 2.0, minimum=0.01),
    "BACKOFF_CAP_SECONDS": envfloat("QUEUE_BACKOFF_CAP_SECONDS", 600.0, minimum=0.1),
    "MAX_ATTEMPTS": envint("QUEUE_MAX_ATTEMPTS", 0, minimum=0),  # 0: retry transient forever
    "BREAKER_FAILURE_THRESHOLD": envint("QUEUE_BREAKER_FAILURES", 5, minimum=1),
    # While central is down, one health probe per cooldown (1 s doubling to 4 s): a GET per
    # few seconds is nothing to central, and central's return is noticed within the cap (a
    # drain is published for the cooldown's end, queueing.kick.kick_when_probe_due), which is
    # what bounds the first delivery after recovery (DESIGN.md: within 5 s).
    "BREAKER_COOLDOWN_SECONDS": envfloat("QUEUE_BREAKER_COOLDOWN_SECONDS", 1.0, minimum=0.1),
    "BREAKER_COOLDOWN_CAP_SECONDS": envfloat("QUEUE_BREAKER_COOLDOWN_CAP", 4.0, minimum=0.1),
    "RATE_START_PER_SECOND": envfloat("QUEUE_RATE_START", 20.0, minimum=0.1),
    "RATE_CEILING_PER_SECOND": envfloat("QUEUE_RATE_CEILING", 500.0, minimum=0.1),
    "RATE_RAMP_SECONDS": envfloat("QUEUE_RATE_RAMP_SECONDS", 10.0, minimum=0.1),
    "LOW_PRIORITY_SHARE": envfloat("QUEUE_LOW_PRIORITY_SHARE", 0.2, minimum=0.0),
    "DRAIN_BUDGET_SECONDS": envfloat("QUEUE_DRAIN_BUDGET_SECONDS", 20.0, minimum=1.0),
    # Delivery loops side by side in each drain task (queueing.deliver.drain): one lane's batch
    # is at central while the other settles and claims. On PostgreSQL only: SQLite takes one
    # writer at a time, so a second lane there would mostly wait for the first's lock.
    "DRAIN_LANES": envint("QUEUE_DRAIN_LANES", 2, minimum=1),
    # Delivered messages are kept this long (reconciliation after a central restore reads
    # them), then purged daily. Dead and pending ones are never purged.
    "RETENTION_DAYS": envint("QUEUE_RETENTION_DAYS", 60, minimum=1),
    # Bytes per second each upstream may receive from all workers together (0: unlimited);
    # set it a little under the office's uplink so print jobs and probes still get through.
    "BYTE_BUDGETS": {
        "central_printing": envint("CENTRAL_PRINTING_BYTES_PER_SECOND", 0, minimum=0),
    },
    "BYTE_BURST_SECONDS": envfloat("QUEUE_BYTE_BURST_SECONDS", 0.25, minimum=0.01),
}

# --- Central printing -----------------------------------------------------------------------
CENTRAL_PRINTING_URL = envstr("CENTRAL_PRINTING_URL", "http://127.0.0.1:8765")
CENTRAL_PRINTING_TIMEOUT = envfloat("CENTRAL_PRINTING_TIMEOUT", 10.0, minimum=0.1)
# Photo and signature go to central in chunks of this size: a cut link costs at most one.
CENTRAL_BLOB_CHUNK_BYTES = envint("CENTRAL_BLOB_CHUNK_BYTES", 64 * 1024, minimum=1024)
# Print jobs claimed per round (0: QUEUEING BATCH_SIZE). Each carries its photo and signature
# (~70 KB): on a thin link keep it small, so a round fits well inside one lease.
CENTRAL_PRINTING_BATCH_SIZE = envint("CENTRAL_PRINTING_BATCH_SIZE", 0, minimum=0)
# Where central sends status callbacks: this office server as central can reach it.
OFFICE_PUBLIC_URL = envstr("OFFICE_PUBLIC_URL", "http://127.0.0.1:8000")
# How far a callback's signed timestamp may be from our clock (the replay window), in seconds.
# The standardwebhooks package never accepts more than 300, so this can only narrow it.
WEBHOOK_TOLERANCE_SECONDS = envint("WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)

# --- Billing (PNBP payments upstream) ---------------------------------------------------------
# Its own upstream with its own breaker: billing down never holds up printing, and the reverse.
# The simulator serves it next to central printing by default (same host, own fault knobs).
BILLING_URL = envstr("BILLING_URL", "http://127.0.0.1:8765/billing")
BILLING_TIMEOUT = envfloat("BILLING_TIMEOUT", 10.0, minimum=0.1)

# --- notify: applicant notifications (SMS gateway, Web Push; immigration/notify) ---------------
# The SMS gateway is its own upstream (own breaker); the simulator serves it at /sms by default.
SMS_GATEWAY_URL = envstr("SMS_GATEWAY_URL", "http://127.0.0.1:8765/sms")
SMS_GATEWAY_SECRET = envsecret("SMS_GATEWAY_SECRET") or CENTRAL_PRINTING_SECRET
SMS_GATEWAY_TIMEOUT = envfloat("SMS_GATEWAY_TIMEOUT", 10.0, minimum=0.1)
# VAPID (RFC 8292) key that signs our pushes: base64url of the raw 32-byte P-256 private key.
# Generated for development (var/dev-secrets.json); in production, unset means no Web Push.
VAPID_PRIVATE_KEY = envsecret("VAPID_PRIVATE_KEY") or (
    "" if PRODUCTION else dev_secrets.load(VAR_DIR / "dev-secrets.json")["VAPID_PRIVATE_KEY"])
VAPID_SUBJECT = envstr("VAPID_SUBJECT", "mailto:admin@tangguh.invalid")
WEB_PUSH_TIMEOUT = envfloat("WEB_PUSH_TIMEOUT", 10.0, minimum=0.1)
# Push endpoints must be https; only a local test push service may be plain http.
WEB_PUSH_ALLOW_HTTP = envbool("WEB_PUSH_ALLOW_HTTP", DEBUG)
# Texts that are not urgent wait out these local hours (office time zone); empty: never held.
NOTIFY_QUIET_HOURS = envstr("NOTIFY_QUIET_HOURS", "21:00-07:00")

# --- Approval -------------------------------------------------------------------------------
# Which registered readiness checks (immigration/readiness.py) must pass before approval:
# "all", or a list of names. Only benchmarks and drills that measure delivery narrow it.
APPROVAL_CHECKS = envstr("APPROVAL_CHECKS", "all")

# --- Dossier --------------------------------------------------------------------------------
# Abandoned tus uploads are purged this long after their last byte arrived (Upload-Expires).
DOSSIER_UPLOAD_TTL_HOURS = envfloat("DOSSIER_UPLOAD_TTL_HOURS", 48.0, minimum=0.01)
# Images with more pixels are refused before decoding: decoding and re-encoding cost about
# 5 bytes per pixel (measured: 58 MB for a 12 MP photo), so 16 MP caps it near 80 MB.
DOSSIER_MAX_IMAGE_PIXELS = envint("DOSSIER_MAX_IMAGE_PIXELS", 16_000_000, minimum=10_000)

# --- pdp: retention of personal data (UU PDP; immigration/retention.py, README) -------------
# Documents, photo and signature are deleted this many days after the application closed
# (collected, rejected or cancelled): long enough to answer a complaint about the handover.
RETENTION_DOSSIER_DAYS = envint("RETENTION_DOSSIER_DAYS", 30, minimum=0)
# The application's personal fields are blanked this many days after it closed; the reference,
# status and events stay for statistics and the audit chain.
RETENTION_APPLICATION_DAYS = envint("RETENTION_APPLICATION_DAYS", 365, minimum=0)

# --- backup: encrypted backups of the office database (manage.py backup / restore) -----------
# "version:base64key,..." (AES-256): the first seals new backups, every listed one can open old
# ones (rotation). Separate from PII_KEYS. Production sets it (or BACKUP_KEYS_FILE); without it
# `manage.py backup` refuses, the rest of the office runs.
BACKUP_KEYS = envsecret("BACKUP_KEYS") or (
    None if PRODUCTION else dev_secrets.load(VAR_DIR / "dev-secrets.json")["BACKUP_KEYS"]
)
# Where `manage.py backup` writes when given no path.
BACKUP_DIR = Path(envstr("BACKUP_DIR", str(VAR_DIR / "backups")))
# pg_dump/pg_restore/psql directory; empty: searched like scripts/lib.sh does.
BACKUP_PG_BINDIR = envstr("BACKUP_PG_BINDIR", "")

# --- Intake ---------------------------------------------------------------------------------
IDEMPOTENCY_TTL_HOURS = envint("IDEMPOTENCY_TTL_HOURS", 24, minimum=1)
# An application is a few KB; anything far larger is a client bug or an attack (413).
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("MAX_REQUEST_BYTES", 64 * 1024, minimum=1024)

# --- audit: hash-chained audit trail (immigration/audit) ----------------------------------------
# Ed25519 private key (base64 of the 32-byte seed) signing the exported chain heads. Whoever
# keeps the heads elsewhere needs only the public key (`manage.py audit public-key`).
AUDIT_SIGNING_KEY = _secret("AUDIT_SIGNING_KEY")
# Where the daily signed heads are written; copy them off this server (see README).
AUDIT_HEAD_DIR = Path(envstr("AUDIT_HEAD_DIR", str(VAR_DIR / "audit-heads")))

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "immigration.signin.second_factor.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "immigration.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # ASCII-only JSON: a lone surrogate a client sent ("\ud800") and we echo in an error message
    # is escaped instead of failing to encode (a 500).
    "UNICODE_JSON": False,
    # Status lookups are where access codes could be guessed: throttle them per client.
    # Counted in Redis (immigration/signin/throttles.py), shared by every process and host.
    "DEFAULT_THROTTLE_RATES": {"lookup": envstr("LOOKUP_THROTTLE", "120/min"),
                               # tus requests (create, HEAD, PATCH) per client
                               "upload": envstr("UPLOAD_THROTTLE", "300/min"),
                               # new uploads (tus creations) per client
                               "upload_create": envstr("UPLOAD_CREATE_THROTTLE", "120/hour"),
                               # anonymous submissions per client and per NIK
                               "submit_client": envstr("SUBMIT_CLIENT_THROTTLE", "60/hour"),
                               "submit_nik": envstr("SUBMIT_NIK_THROTTLE", "10/day"),
                               # sign-in attempts at the token endpoint per client (axes locks
                               # accounts; this caps the request rate itself)
                               "sign_in": envstr("SIGN_IN_THROTTLE", "30/min")},
    # X-Forwarded-For is trusted only from this many proxies in front of us (0: REMOTE_ADDR).
    "NUM_PROXIES": envint("TRUSTED_PROXIES", 0, minimum=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tangguh office API",
    "DESCRIPTION": "Passport applications that keep flowing when central systems are down.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "immigration.api.schema.document_error_responses",
    ],
}

# --- auth: sign-in, second factor, tokens, throttles ---------------------------------------
# How many proxies (nginx, a load balancer) sit in front of gunicorn and append to
# X-Forwarded-For. Only that many entries from the right are trusted; with 0 the header is
# ignored and REMOTE_ADDR is the client. Every reader of the client address (DRF throttles,
# axes, the per-client limits) goes through immigration.signin.client_ip.
TRUSTED_PROXIES = envint("TRUSTED_PROXIES", 0, minimum=0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": envint("PASSWORD_MIN_LENGTH", 10, minimum=8)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or client before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock out an account (whatever client tries it) and a client (whatever account it tries)
# after this many failed sign-ins (password or one-time code), for AXES_COOLOFF_TIME.
AXES_FAILURE_LIMIT = envint("SIGN_IN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=envfloat("SIGN_IN_LOCKOUT_MINUTES", 15.0, minimum=0.1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "immigration.signin.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "immigration.signin.lockout.lockout_response"
# Failures are forgotten only after the cool-off (or an admin's unlock), not at a successful
# sign-in: otherwise a guesser holding one account of their own could clear their client's count
# between guesses by signing into it.
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False
LOGIN_URL = "staff-login"
OTP_TOTP_ISSUER = envstr("OTP_TOTP_ISSUER", "Tangguh")
# Where a signed-in user who has not yet given a one-time code is sent (staff and admin).
SECOND_FACTOR_URL = "/staff/otp"
# The demo accounts (scripts/run) get a TOTP device with this known secret, printed at start-up;
# never in production (the seed command refuses).
DEMO_TOTP_SECRET = envstr("DEMO_TOTP_SECRET", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(hours=envfloat("API_TOKEN_TTL_HOURS", 12.0, minimum=0.01)),
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": envint("API_TOKENS_PER_USER", 20, minimum=1),
}
# Throttle counters live in Redis so every process and host shares them. A separate prefix keeps
# them apart from the broker's and the breaker's keys. Short timeouts: a dead Redis costs a
# request at most ~0.5 s and then the limits fail open (accepting never waits on Redis).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": envstr("THROTTLE_REDIS_URL", REDIS_URL),
        "KEY_PREFIX": "throttle",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
}
# Wrong access codes for one reference: after this many within the window, its lookups are
# locked (429) for the lock time, whatever code is sent; staff see the lock on the application.
ACCESS_CODE_FAILURE_LIMIT = envint("ACCESS_CODE_FAILURE_LIMIT", 10, minimum=1)
ACCESS_CODE_FAILURE_WINDOW_SECONDS = envint("ACCESS_CODE_FAILURE_WINDOW_SECONDS", 3600, minimum=1)
ACCESS_CODE_LOCK_SECONDS = envint("ACCESS_CODE_LOCK_SECONDS", 900, minimum=1)

# --- I18n, static, PWA ----------------------------------------------------------------------
LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
USE_I18N = True
TIME_ZONE = "Asia/Jakarta"
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

PWA_APP_NAME = "Tangguh Paspor"
PWA_APP_DESCRIPTION = "Ajukan paspor dan pantau statusnya, juga saat sinyal lemah."
PWA_APP_THEME_COLOR = "#0b5d3b"
PWA_APP_BACKGROUND_COLOR = "#ffffff"
PWA_APP_DISPLAY = "standalone"
# --- board: operator dashboard ---------------------------------------------------------------
# Queue samples (one row per office and minute, for the 24-hour chart) are kept this long.
QUEUE_SAMPLE_RETENTION_DAYS = envint("QUEUE_SAMPLE_RETENTION_DAYS", 7, minimum=1)
# The delivery rate behind the time-to-empty estimate is measured over this many minutes.
BOARD_RATE_WINDOW_MINUTES = envint("BOARD_RATE_WINDOW_MINUTES", 10, minimum=1)

PWA_APP_SCOPE = "/"
PWA_APP_START_URL = "/"
PWA_APP_LANG = "id"
PWA_APP_ICONS = [
    {"src": "/static/frontend/icon-192.png", "sizes": "192x192"},
    {"src": "/static/frontend/icon-512.png", "sizes": "512x512"},
]
# django-pwa's default adds ten links to splash images we do not ship (404s, and ~9 KB of every
# page of the app shell).
PWA_APP_SPLASH_SCREEN: list[dict[str, str]] = []
PWA_SERVICE_WORKER_PATH = BASE_DIR / "frontend" / "static" / "frontend" / "serviceworker.js"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# --- Behind a TLS-terminating proxy (production) ----------------------------------------------
# HSTS only once the site is served over HTTPS for good: browsers remember it for this long.
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Trust X-Forwarded-Proto only when a proxy we run sets it (and strips it from clients);
# otherwise any client could claim HTTPS.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if envbool("TRUST_X_FORWARDED_PROTO", False) else None
)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes speak plain HTTP

# --- Content-Security-Policy (django-csp): no inline script or style anywhere ----------------
# Everything the pages run is a file of ours: an injected <script> or on*= attribute does
# nothing. Camera frames and re-encoded photos are blob:/data: URLs; uploads and status calls go
# to this origin only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- ops: logs, metrics ------------------------------------------------------------------
# Never personal data in logs. Request lines log paths only; references are not PII. JSON lines
# in production (a log shipper reads them), readable lines in development; both carry the
# request id (immigration/operations/request_ids.py).
LOG_FORMAT = envstr("LOG_FORMAT", "json" if PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'plain'")
LOGGING: dict[str, Any] = logging_config(fmt=LOG_FORMAT, level=envstr("LOG_LEVEL", "INFO"))

# Who may read /metrics (immigration/operations/metrics_view.py): these addresses (IPs or CIDR
# networks, comma separated; never trusted for a request that came through a proxy), or anyone
# with `Authorization: Bearer <METRICS_TOKEN>` when a token is set.
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(n.strip(), strict=False)
        for n in envstr("METRICS_ALLOWED_IPS", "127.0.0.1,::1").split(",") if n.strip()
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from exc
METRICS_TOKEN = envsecret("METRICS_TOKEN") or ""
# Multiprocess metrics (gunicorn workers, Celery pool processes): every process writes its
# counters here and a scrape sums them. Set by scripts/run, the Procfile and the deployment
# files, emptied at each start; unset, metrics are per process (tests, runserver).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
