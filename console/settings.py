"""Wattson settings: one module, driven by environment variables.

Defaults give the embedded set-up (SQLite, the django-q2 ORM broker, the offline solver), so a new
user needs nothing running. Production sets `WATTSON_ENV=production` plus the variables below.
Bad values raise ImproperlyConfigured naming the variable.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from console.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def envfloat(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


WATTSON_ENV = env("WATTSON_ENV", "development")
if WATTSON_ENV not in ("development", "production", "test"):
    raise ImproperlyConfigured(
        f"WATTSON_ENV must be development, production or test, got {WATTSON_ENV!r}"
    )
PRODUCTION = WATTSON_ENV == "production"

DEBUG = envbool("DJANGO_DEBUG", not PRODUCTION)

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when WATTSON_ENV=production")
    # Development only: a fixed, obviously unsafe key so sessions survive restarts.
    SECRET_KEY = "dev-insecure-wattson-key-change-me-in-production-0123456789abcdef"  # noqa: S105

ALLOWED_HOSTS = envlist(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when WATTSON_ENV=production")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "console.apps.WattsonAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's files, served from our static files: the docs page works offline, under CSP.
    "drf_spectacular_sidecar",
    "django_q",
    "skills",
    "reviews",
]

MIDDLEWARE = [
    # Outermost: every later log line has the request id, and the latency covers it all.
    "console.middleware.RequestIdMiddleware",
    "console.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "console.middleware.ContentSecurityPolicyMiddleware",
    "console.middleware.ErrorPageMiddleware",
]

ROOT_URLCONF = "console.urls"

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
                "console.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "console.wsgi.application"
ASGI_APPLICATION = "console.asgi.application"

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL switches to PostgreSQL (postgres://user@host:5432/name); default is SQLite in var/.
VAR_DIR = Path(env("WATTSON_VAR_DIR", str(BASE_DIR / "var")))
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    try:
        # Persistent connections serve gunicorn's long-lived threads; runserver starts a thread
        # per request, so each one would leave its connection open until PostgreSQL runs out
        # of slots ("too many clients"): run it with DATABASE_CONN_MAX_AGE=0.
        _db = dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    if _db["ENGINE"] not in (
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    ):
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:// URL")
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "wattson.sqlite3",
    }
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # A worker and the web process write at once: WAL plus IMMEDIATE transactions avoid
    # "database is locked" on upgrade from a read lock (see shared/NOTES.md).
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _db["TEST"] = {"NAME": env("WATTSON_TEST_SQLITE_NAME") or None}
DATABASES = {"default": _db}

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

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Hashed, compressed file names need `collectstatic` first (.ci/prod runs it): on in production,
# or with WATTSON_STATIC_MANIFEST=on; tests and runserver serve the plain files.
WATTSON_STATIC_MANIFEST = envbool("WATTSON_STATIC_MANIFEST", PRODUCTION)
if WATTSON_STATIC_MANIFEST:
    # The web process serves the collected files itself (whitenoise), compressed and cached
    # forever by hashed name; right after SecurityMiddleware, as whitenoise documents.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if WATTSON_STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reviews:queue"
LOGOUT_REDIRECT_URL = "login"

# Ingest bodies up to 5 MiB; the API answers 413 past that (reviews.api).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
WATTSON_INGEST_MAX_BYTES = 5 * 1024 * 1024
WATTSON_INGEST_MAX_BATCH = 1000
WATTSON_SIGNATURE_TOLERANCE_S = 300
# Ingest posts per account (reviews.api.finding_ingest.IngestRateThrottle), counted in the database
# cache so every web process shares the count; over it: 429 with Retry-After.
WATTSON_INGEST_RATE = env("WATTSON_INGEST_RATE", "120/min")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", WATTSON_INGEST_RATE):
    raise ImproperlyConfigured(
        f"WATTSON_INGEST_RATE must look like 120/min (per s, min, hour or day), "
        f"got {WATTSON_INGEST_RATE!r}"
    )

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the live-status script reads it for POSTs
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Probes and the metrics scraper speak plain HTTP to the process, inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 random characters")

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wattson API",
    "DESCRIPTION": "Ingest findings, read proposals and savings.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like every other page: a Wattson role (the ingest accounts' included, they integrate
    # against it).
    "SERVE_PERMISSIONS": ["reviews.api.auth.CanReadFindings"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- django-q2 --------------------------------------------------------------------------------
# WATTSON_BROKER=orm (default, at-least-once) or redis (REDIS_URL; faster, at-most-once).
# Either way the database is the source of truth: reviews.tasks.sweep_solve_runs re-enqueues
# what a lost message or a killed worker left behind.
WATTSON_BROKER = env("WATTSON_BROKER", "orm")
if WATTSON_BROKER not in ("orm", "redis"):
    raise ImproperlyConfigured(f"WATTSON_BROKER must be 'orm' or 'redis', got {WATTSON_BROKER!r}")
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
WATTSON_SOLVE_TIMEOUT_S = envint("WATTSON_SOLVE_TIMEOUT_S", 300, minimum=10)
WATTSON_SOLVE_RETRY_S = envint("WATTSON_SOLVE_RETRY_S", WATTSON_SOLVE_TIMEOUT_S + 60, minimum=11)
if WATTSON_SOLVE_RETRY_S <= WATTSON_SOLVE_TIMEOUT_S:
    # django-q2 re-delivers a task still running when retry <= timeout (shared/NOTES.md).
    raise ImproperlyConfigured(
        "WATTSON_SOLVE_RETRY_S must be greater than WATTSON_SOLVE_TIMEOUT_S "
        f"({WATTSON_SOLVE_RETRY_S} <= {WATTSON_SOLVE_TIMEOUT_S})"
    )
WATTSON_SOLVE_MAX_ATTEMPTS = envint("WATTSON_SOLVE_MAX_ATTEMPTS", 3, minimum=1)
# A queued run with no worker claiming it for this long lost its broker message: the sweeper
# enqueues it again.
WATTSON_SOLVE_QUEUED_GRACE_S = envint("WATTSON_SOLVE_QUEUED_GRACE_S", 120, minimum=5)
WATTSON_WORKERS = envint("WATTSON_WORKERS", 2, minimum=1)

Q_CLUSTER: dict = {
    "name": "wattson",
    "workers": WATTSON_WORKERS,
    "timeout": WATTSON_SOLVE_TIMEOUT_S,
    "retry": WATTSON_SOLVE_RETRY_S,
    "max_attempts": 1,  # our own attempt counter on SolveRun decides; see reviews.services
    "save_limit": 250,
    "catch_up": False,
    "label": "Task queue",
    "sync": envbool("WATTSON_Q_SYNC", False),
}
if WATTSON_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5
else:
    Q_CLUSTER["redis"] = REDIS_URL

# --- Wattson ----------------------------------------------------------------------------------
# Savings model defaults for a new service (editable per service in the admin).
WATTSON_DEFAULT_FLEET_SERVERS = envint("WATTSON_DEFAULT_FLEET_SERVERS", 1000, minimum=0)
WATTSON_DEFAULT_WATTS_PER_SERVER = envfloat("WATTSON_DEFAULT_WATTS_PER_SERVER", 350.0, minimum=0)
WATTSON_DEFAULT_PUE = envfloat("WATTSON_DEFAULT_PUE", 1.2, minimum=1.0)
WATTSON_DEFAULT_PRICE_PER_KWH = envfloat("WATTSON_DEFAULT_PRICE_PER_KWH", 0.12, minimum=0)

# Offline by default; "anthropic" needs ANTHROPIC_API_KEY.
WATTSON_SOLVER_BACKEND = env("WATTSON_SOLVER_BACKEND", "offline")
if WATTSON_SOLVER_BACKEND not in ("offline", "anthropic"):
    raise ImproperlyConfigured(
        f"WATTSON_SOLVER_BACKEND must be 'offline' or 'anthropic', got {WATTSON_SOLVER_BACKEND!r}"
    )
WATTSON_AUTO_SOLVE = envbool("WATTSON_AUTO_SOLVE", True)
# Auto-solve queues at most this many solves per source, and in total; the rest wait ("waiting:
# cap" on the finding) until the sweeper finds room (reviews.services.solve_admission).
WATTSON_AUTO_SOLVE_MAX_PER_SOURCE = envint("WATTSON_AUTO_SOLVE_MAX_PER_SOURCE", 20, minimum=1)
WATTSON_AUTO_SOLVE_MAX_QUEUED = envint("WATTSON_AUTO_SOLVE_MAX_QUEUED", 100, minimum=1)
# Failed logins allowed per username and per address within the window, then refused until it
# passes (console.login).
WATTSON_LOGIN_MAX_FAILURES = envint("WATTSON_LOGIN_MAX_FAILURES", 5, minimum=1)
WATTSON_LOGIN_WINDOW_S = envint("WATTSON_LOGIN_WINDOW_S", 900, minimum=1)

# The Anthropic backend (skills.solver.anthropic_backend), read when a solve runs. The key,
# ANTHROPIC_API_KEY, is taken from the environment at that moment and never stored or logged.
ANTHROPIC_MODEL = env("ANTHROPIC_MODEL", "claude-sonnet-5-5")
ANTHROPIC_BASE_URL = env("ANTHROPIC_BASE_URL", "")
if ANTHROPIC_BASE_URL and not ANTHROPIC_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"ANTHROPIC_BASE_URL must be an http:// or https:// URL, got {ANTHROPIC_BASE_URL!r}"
    )
# The SDK retries 429, 5xx and 529 (overloaded) with backoff, honouring retry-after headers.
ANTHROPIC_MAX_RETRIES = envint("ANTHROPIC_MAX_RETRIES", 4, minimum=0)
ANTHROPIC_TIMEOUT_S = envfloat("ANTHROPIC_TIMEOUT_S", 120.0, minimum=1.0)
# Budgets per solve: model turns, tokens (input, cache and output summed over the turns), wall
# time of the conversation (validation comes after, inside WATTSON_SOLVE_TIMEOUT_S).
WATTSON_LLM_MAX_TURNS = envint("WATTSON_LLM_MAX_TURNS", 20, minimum=1)
WATTSON_LLM_MAX_TOKENS = envint("WATTSON_LLM_MAX_TOKENS", 500_000, minimum=1000)
WATTSON_LLM_RESPONSE_MAX_TOKENS = envint("WATTSON_LLM_RESPONSE_MAX_TOKENS", 8192, minimum=256)
WATTSON_LLM_MAX_SECONDS = envfloat(
    "WATTSON_LLM_MAX_SECONDS", min(180.0, WATTSON_SOLVE_TIMEOUT_S * 0.6), minimum=1.0
)
# USD per million tokens, for the cost shown on each proposal: the published prices of the
# default model (claude-sonnet-5-5); set them when you choose another model.
WATTSON_LLM_PRICE_INPUT_PER_MTOK = envfloat("WATTSON_LLM_PRICE_INPUT_PER_MTOK", 2.0, minimum=0)
WATTSON_LLM_PRICE_OUTPUT_PER_MTOK = envfloat("WATTSON_LLM_PRICE_OUTPUT_PER_MTOK", 10.0, minimum=0)
WATTSON_LLM_PRICE_CACHE_WRITE_PER_MTOK = envfloat(
    "WATTSON_LLM_PRICE_CACHE_WRITE_PER_MTOK", 2.5, minimum=0
)
WATTSON_LLM_PRICE_CACHE_READ_PER_MTOK = envfloat(
    "WATTSON_LLM_PRICE_CACHE_READ_PER_MTOK", 0.2, minimum=0
)
# When the anthropic backend cannot run (no ANTHROPIC_API_KEY, not installed): "offline" runs
# the offline solver instead (noted in the trace), "fail" fails the run with the reason.
WATTSON_ANTHROPIC_FALLBACK = env("WATTSON_ANTHROPIC_FALLBACK", "offline")
if WATTSON_ANTHROPIC_FALLBACK not in ("offline", "fail"):
    raise ImproperlyConfigured(
        "WATTSON_ANTHROPIC_FALLBACK must be 'offline' or 'fail', "
        f"got {WATTSON_ANTHROPIC_FALLBACK!r}"
    )
# Scratch worktrees for validation and fix branches.
WATTSON_WORK_DIR = Path(env("WATTSON_WORK_DIR", str(VAR_DIR / "work")))
# This machine's bare mirrors of URL repositories (skills.mirrors): nothing in them is shared
# with other machines, so every worker keeps its own.
WATTSON_MIRROR_DIR = Path(env("WATTSON_MIRROR_DIR", str(VAR_DIR / "mirrors")))
# A mirror fetched longer ago than this is fetched again before a solve or an approval (a finding
# naming a commit the mirror lacks is fetched whatever its age).
WATTSON_MIRROR_MAX_AGE_S = envint("WATTSON_MIRROR_MAX_AGE_S", 60, minimum=0)
# Clone, fetch and push of a URL repository are stopped after this long.
WATTSON_GIT_NETWORK_TIMEOUT_S = envint("WATTSON_GIT_NETWORK_TIMEOUT_S", 300, minimum=1)
# A page that needs a URL repository this machine has not mirrored (the root-cause commit, a
# diff's context) clones or fetches it itself, each network step stopped after this long; past
# it the page shows why instead.
WATTSON_PAGE_GIT_TIMEOUT_S = envint("WATTSON_PAGE_GIT_TIMEOUT_S", 15, minimum=1)
# Pushing an approved fix branch is retried by the sweeper this many times, then given up
# (recorded on the approval; the approval itself stands).
WATTSON_PUSH_MAX_ATTEMPTS = envint("WATTSON_PUSH_MAX_ATTEMPTS", 10, minimum=1)
# Repository code (tests, benchmarks) runs under bubblewrap (skills.sandbox), read at call time:
# required refuses to validate without it, auto runs unsandboxed with a warning on the proposal
# when it is missing, off never sandboxes (warned too).
WATTSON_SANDBOX = env("WATTSON_SANDBOX", "required" if PRODUCTION else "auto")
if WATTSON_SANDBOX not in ("required", "auto", "off"):
    raise ImproperlyConfigured(
        f"WATTSON_SANDBOX must be 'required', 'auto' or 'off', got {WATTSON_SANDBOX!r}"
    )
# Per sandboxed command: address space of each process, and processes of the sandbox user.
WATTSON_SANDBOX_MEMORY_MB = envint("WATTSON_SANDBOX_MEMORY_MB", 4096, minimum=64)
WATTSON_SANDBOX_MAX_PROCESSES = envint("WATTSON_SANDBOX_MAX_PROCESSES", 256, minimum=8)
WATTSON_BOT_NAME = env("WATTSON_BOT_NAME", "Wattson Bot")
WATTSON_BOT_EMAIL = env("WATTSON_BOT_EMAIL", "wattson-bot@localhost")
WATTSON_BOT_USERNAME = "wattson-bot"
# Links in commit messages and the demo's greeting; the quickstart serves on $PORT (default 8000).
WATTSON_PUBLIC_URL = env("WATTSON_PUBLIC_URL", f"http://127.0.0.1:{env('PORT', '8000')}")
# Code hosts (reviews.services.code_hosts): an approved fix of a repository whose URL is on
# github.com or gitlab.com, or on a host named here (GitHub Enterprise, a self-hosted GitLab;
# "host" or "host:port"), becomes a pull / merge request. The hosts named here are reached at
# the API roots below (default: https://<host>/api/v3 and https://<host>). Tokens and webhook
# secrets are read from the environment when used, never here (WATTSON_GITHUB_TOKEN,
# WATTSON_GITLAB_TOKEN, WATTSON_GITHUB_WEBHOOK_SECRET, WATTSON_GITLAB_WEBHOOK_TOKEN).
WATTSON_GITHUB_HOSTS = envlist("WATTSON_GITHUB_HOSTS", [])
WATTSON_GITHUB_API_URL = env("WATTSON_GITHUB_API_URL")
WATTSON_GITLAB_HOSTS = envlist("WATTSON_GITLAB_HOSTS", [])
WATTSON_GITLAB_URL = env("WATTSON_GITLAB_URL")
# Attempts to open a pull request before it is marked failed (backoff doubles from a minute,
# or what the host's Retry-After / rate-limit reset says), and how often open ones are polled
# in case a webhook was lost.
WATTSON_PR_MAX_ATTEMPTS = envint("WATTSON_PR_MAX_ATTEMPTS", 8, minimum=1)
WATTSON_PR_POLL_S = envint("WATTSON_PR_POLL_S", 900, minimum=60)
WATTSON_PR_TIMEOUT_S = envint("WATTSON_PR_TIMEOUT_S", 30, minimum=1)
# Patches larger than this are refused before anything applies them (skills.patchsafety).
WATTSON_PATCH_MAX_BYTES = envint("WATTSON_PATCH_MAX_BYTES", 1024 * 1024, minimum=1)
# Validation (skills.solver.pipeline): benchmark runs on each side (interleaved, up to twice as
# many when noise blurs the verdict), the speed-up below which a change saved nothing
# measurable, and the least time left worth benchmarking a regression's root-cause parent with.
WATTSON_BENCH_RUNS = envint("WATTSON_BENCH_RUNS", 3, minimum=1)
WATTSON_MIN_SPEEDUP = envfloat("WATTSON_MIN_SPEEDUP", 1.05, minimum=0.0)
# "Faster" is a one-sided Mann-Whitney U test of "at least WATTSON_MIN_SPEEDUP faster" at this
# significance level over all looks, with up to WATTSON_BENCH_MAX_RUNS pairs while undecided
# (skills.solver.speedup).
WATTSON_BENCH_ALPHA = envfloat("WATTSON_BENCH_ALPHA", 0.05, minimum=1e-6)
if WATTSON_BENCH_ALPHA >= 0.5:
    raise ImproperlyConfigured(f"WATTSON_BENCH_ALPHA must be below 0.5, got {WATTSON_BENCH_ALPHA}")
WATTSON_BENCH_MAX_RUNS = envint("WATTSON_BENCH_MAX_RUNS", 6, minimum=1)
WATTSON_MIN_PARENT_BUDGET_S = envfloat("WATTSON_MIN_PARENT_BUDGET_S", 5.0, minimum=0.0)
# Bisecting a detected regression (reviews.services.bisect): benchmarks measured at most, and
# the wall time after which it stops and says how far it got.
WATTSON_BISECT_MAX_STEPS = envint("WATTSON_BISECT_MAX_STEPS", 12, minimum=2)
WATTSON_BISECT_TIMEOUT_S = envint("WATTSON_BISECT_TIMEOUT_S", 900, minimum=10)
# A skill is flagged needs_attention (ranked last by the solver) once it has this many
# approve/reject decisions and its 95% Wilson lower bound on acceptance is below the maximum.
WATTSON_ATTENTION_MIN_DECISIONS = envint("WATTSON_ATTENTION_MIN_DECISIONS", 5, minimum=1)
WATTSON_ATTENTION_MAX_LOWER_BOUND = envfloat("WATTSON_ATTENTION_MAX_LOWER_BOUND", 0.2, minimum=0.0)

# The proposal page's diff viewer (reviews.diffs.limits), read each time a diff is rendered. A
# diff past WATTSON_DIFF_MAX_BYTES is not parsed; past WATTSON_DIFF_PAGE_MAX_LINES diff lines
# in one change the remaining files are only described, as is a file past
# WATTSON_DIFF_FILE_MAX_LINES; a file past WATTSON_DIFF_COLLAPSE_LINES starts collapsed; past
# the two HIGHLIGHT values a file is shown without syntax highlighting.
WATTSON_DIFF_MAX_BYTES = envint("WATTSON_DIFF_MAX_BYTES", 5 * 1024 * 1024, minimum=1)
WATTSON_DIFF_PAGE_MAX_LINES = envint("WATTSON_DIFF_PAGE_MAX_LINES", 30_000, minimum=1)
WATTSON_DIFF_FILE_MAX_LINES = envint("WATTSON_DIFF_FILE_MAX_LINES", 10_000, minimum=1)
WATTSON_DIFF_COLLAPSE_LINES = envint("WATTSON_DIFF_COLLAPSE_LINES", 400, minimum=1)
WATTSON_DIFF_HIGHLIGHT_MAX_BYTES = envint("WATTSON_DIFF_HIGHLIGHT_MAX_BYTES", 200_000, minimum=0)
WATTSON_DIFF_HIGHLIGHT_MAX_LINES = envint("WATTSON_DIFF_HIGHLIGHT_MAX_LINES", 2_000, minimum=0)

# Rendered diffs (reviews.selectors.proposals) and django-q2's cluster heartbeats: in a cache
# every web and worker process shares, so a diff rendered by one gunicorn worker is a hit in the
# others and /readyz sees the workers' heartbeat. The database cache by default (its table is
# made by `migrate`); Redis when WATTSON_CACHE_URL names it, or with the Redis broker.
WATTSON_CACHE_URL = env("WATTSON_CACHE_URL", REDIS_URL if WATTSON_BROKER == "redis" else "")
if WATTSON_CACHE_URL and not WATTSON_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"WATTSON_CACHE_URL must be a redis:// URL, got {WATTSON_CACHE_URL!r}"
    )
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": WATTSON_CACHE_URL,
            "KEY_PREFIX": "wattson",
        }
        if WATTSON_CACHE_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "wattson_cache",
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    ),
    # Counters that must hold across processes: ingest rate limits and failed logins. The
    # table is made by a migration (reviews 0014).
    "throttle": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "wattson_throttle_cache",
    },
}

# /metrics (console.metrics): off unless this bearer token is set.
WATTSON_METRICS_TOKEN = env("WATTSON_METRICS_TOKEN")

# JSON lines in production (one object per line, with the request id), plain text elsewhere.
WATTSON_LOG_JSON = envbool("WATTSON_LOG_JSON", PRODUCTION)
LOGGING = logging_config(json_logs=WATTSON_LOG_JSON, level=env("WATTSON_LOG_LEVEL", "INFO"))
