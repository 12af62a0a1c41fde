"""Kapula settings, driven by environment variables.

With no environment at all Kapula runs embedded: SQLite under ./var/, an in-memory
channel layer, database-backed tasks. Every knob is listed in the README.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP  # type: ignore[import-untyped,unused-ignore]
from django.utils.translation import gettext_lazy as _

from kapula.core import geo


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env("KAPULA_VAR_DIR", str(Path.cwd() / "var")))

DEBUG = env_bool("KAPULA_DEBUG", False)
SECRET_KEY = env("KAPULA_SECRET_KEY") or env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env_bool("KAPULA_PRODUCTION", False):
        raise RuntimeError("KAPULA_SECRET_KEY must be set in production")
    # Embedded/demo use only: a fixed development key (never used with KAPULA_PRODUCTION=1).
    SECRET_KEY = "kapula-insecure-development-key-change-me"  # noqa: S105

ALLOWED_HOSTS = env_list("KAPULA_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("KAPULA_CSRF_TRUSTED_ORIGINS")
KAPULA_BASE_URL = env("KAPULA_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "kapula.core",
    "kapula.tickets",
    "kapula.intake",
    "kapula.intake.mail",
    "kapula.catalogue",
    "kapula.intake.webform",
    "kapula.desk",
    "kapula.api",
    "kapula.intake.open311",
    "kapula.routing",
    "kapula.sla",
    "kapula.triage",
    "kapula.suppliers",
    "kapula.notifications",
    "kapula.kb",
    "kapula.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "kapula.urls"
WSGI_APPLICATION = "kapula.wsgi.application"
ASGI_APPLICATION = "kapula.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'kapula.sqlite3'}"
if not env("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded database lives here
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", DEFAULT_SQLITE), conn_max_age=int(env("KAPULA_DB_CONN_MAX_AGE", "60"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif (DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
      and env_bool("KAPULA_DB_PREPARED_STATEMENTS", True)):
    # Server-side parameter binding lets psycopg prepare statements that a connection runs
    # again and again (ticket inserts, the ticket page's joins): PostgreSQL then skips
    # parsing and planning them (docs/performance.md). Turn off behind a pooler in
    # transaction mode (e.g. PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5})
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

# --- cache, channel layer, tasks ---------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    _cache_location = REDIS_URL
    _worker = env("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... under pytest-xdist
    if _worker.startswith("gw") and _worker[2:].isdigit():
        # Parallel test workers must not share a Redis database: a test's cache.clear()
        # flushes the whole database, which would empty another worker's cache mid-test.
        _head, _slash, _db = REDIS_URL.rstrip("/").rpartition("/")
        if not _db.isdigit():
            _head, _db = REDIS_URL.rstrip("/"), "0"
        _cache_location = f"{_head}/{(int(_db) + int(_worker[2:])) % 16}"
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": _cache_location, "KEY_PREFIX": "kapula"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

TASKS = {
    "default": {
        "BACKEND": env("KAPULA_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "desk:login"
LOGIN_REDIRECT_URL = "desk:queue"
LOGOUT_REDIRECT_URL = "desk:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("KAPULA_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- i18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "fi"
LANGUAGES = [("fi", _("Finnish")), ("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [Path(env("KAPULA_LOCALE_DIR", str(BASE_DIR / "locale")))]
TIME_ZONE = "Europe/Helsinki"
USE_I18N = True
USE_TZ = True

# --- static & media ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env("KAPULA_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
#: Leaflet, proj4 and proj4leaflet, copied from node_modules by scripts/assets.sh (not in
#: git). Without them the forms take an address and coordinates, and no map is shown.
KAPULA_VENDOR_STATIC = Path(env("KAPULA_VENDOR_STATIC", str(BASE_DIR / "vendor")))
STATICFILES_DIRS = [("vendor", KAPULA_VENDOR_STATIC)] if KAPULA_VENDOR_STATIC.is_dir() else []
WHITENOISE_AUTOREFRESH = DEBUG

# --- Kapula -----------------------------------------------------------------------------
KAPULA_MAX_ATTACHMENT_BYTES = int(env("KAPULA_MAX_ATTACHMENT_BYTES", str(20 * 1024 * 1024)))
#: customer portal: login links' lifetime, and how often one may be asked for (count/seconds)
KAPULA_PORTAL_LINK_MINUTES = int(env("KAPULA_PORTAL_LINK_MINUTES", "30"))
KAPULA_PORTAL_EMAIL_RATE = env("KAPULA_PORTAL_EMAIL_RATE", "5/900")
KAPULA_PORTAL_IP_RATE = env("KAPULA_PORTAL_IP_RATE", "20/900")
#: public knowledge base: suggestions while typing and "did this help?" answers per client
#: address (count/seconds)
KAPULA_KB_SUGGEST_RATE = env("KAPULA_KB_SUGGEST_RATE", "60/60")
KAPULA_KB_FEEDBACK_RATE = env("KAPULA_KB_FEEDBACK_RATE", "30/3600")
#: attachments per knowledge-base article
KAPULA_KB_MAX_ATTACHMENTS = int(env("KAPULA_KB_MAX_ATTACHMENTS", "20"))
KAPULA_MAX_BODY_CHARS = int(env("KAPULA_MAX_BODY_CHARS", "100000"))
KAPULA_ALLOWED_ATTACHMENT_TYPES = env_list(
    "KAPULA_ALLOWED_ATTACHMENT_TYPES",
    "application/pdf,image/png,image/jpeg,image/gif,image/webp,text/plain,text/csv,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/vnd.oasis.opendocument.text,application/msword,application/vnd.ms-excel,"
    "message/rfc822",
)
# Email channel. Outgoing mail goes through this SMTP server (see docs/subsystems/email.md).
_MAIL_BACKEND = env("KAPULA_MAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
MAILERS: dict[str, dict[str, object]] = {
    "default": {
        "BACKEND": _MAIL_BACKEND,
        "OPTIONS": {"file_path": str(VAR_DIR / "sent-mail")} if "filebased" in _MAIL_BACKEND
        else {} if "smtp" not in _MAIL_BACKEND else {
            "host": env("KAPULA_SMTP_HOST", "127.0.0.1"),
            "port": int(env("KAPULA_SMTP_PORT", "25")),
            "username": env("KAPULA_SMTP_USER", ""),
            "password": env("KAPULA_SMTP_PASSWORD", ""),
            "use_tls": env_bool("KAPULA_SMTP_STARTTLS", False),
            "use_ssl": env_bool("KAPULA_SMTP_SSL", False),
            "timeout": int(env("KAPULA_SMTP_TIMEOUT", "20")),
        },
    },
}
DEFAULT_FROM_EMAIL = env("KAPULA_DEFAULT_FROM_EMAIL", "kapula@localhost")
#: marks our outgoing mail (X-Kapula-Loop) so that it is recognised if it ever comes back
KAPULA_INSTANCE_ID = env("KAPULA_INSTANCE_ID", "kapula")
KAPULA_MAX_EMAIL_BYTES = int(env("KAPULA_MAX_EMAIL_BYTES", str(40 * 1024 * 1024)))
#: automatic mails (acknowledgments, notices) to one address per hour at most: a guard
#: against loops with other systems' responders that do not mark their mail
KAPULA_MAIL_AUTOMATIC_PER_HOUR = int(env("KAPULA_MAIL_AUTOMATIC_PER_HOUR", "5"))
KAPULA_MAIL_MAX_ATTEMPTS = int(env("KAPULA_MAIL_MAX_ATTEMPTS", "12"))
#: no automatic mail or reply mail about events older than this (back-dated imports)
KAPULA_MAIL_STALE_HOURS = int(env("KAPULA_MAIL_STALE_HOURS", "24"))
KAPULA_SEARCH_DEFAULT_MONTHS = int(env("KAPULA_SEARCH_DEFAULT_MONTHS", "6"))
KAPULA_LOGIN_RATE = env("KAPULA_LOGIN_RATE", "10/300")  # attempts per seconds, per IP+user
#: web form submissions per client address per seconds (and the same per email address)
KAPULA_WEBFORM_RATE = env("KAPULA_WEBFORM_RATE", "10/3600")
#: a web form sent sooner than this after it was shown is taken for a bot
KAPULA_WEBFORM_MIN_SECONDS = int(env("KAPULA_WEBFORM_MIN_SECONDS", "3"))
#: Open311 POST requests per client key per seconds (generous: one key serves a whole app)
KAPULA_OPEN311_RATE = env("KAPULA_OPEN311_RATE", "100000/60")
# Maps (docs/subsystems/maps.md): background layers as JSON (empty: OpenStreetMap; "[]":
# no map), the service area "west,south,east,north" (WGS84) that locations must lie in,
# where the map opens ("lat,lon" and a zoom level; empty: the whole area).
KAPULA_MAP_LAYERS = geo.parse_layers(env("KAPULA_MAP_LAYERS"))
KAPULA_MAP_AREA = geo.parse_area(env("KAPULA_MAP_AREA"))
KAPULA_MAP_CENTER = geo.parse_center(env("KAPULA_MAP_CENTER"), KAPULA_MAP_AREA)
KAPULA_MAP_ZOOM = int(env("KAPULA_MAP_ZOOM", "0")) or None
#: the most tickets the agents' map and its GeoJSON export show (the newest ones)
KAPULA_MAP_MAX_TICKETS = int(env("KAPULA_MAP_MAX_TICKETS", "1000"))
# the browser may load map tiles from the configured tile servers, and from nowhere else
SECURE_CSP["img-src"] = [CSP.SELF, "data:", *geo.tile_origins(KAPULA_MAP_LAYERS)]
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Domain events are written as JSON lines to KAPULA_EVENT_LOG (a file path, "-" for the
# console, or "off"); by default to var/events.log.
EVENT_LOG = env("KAPULA_EVENT_LOG", str(VAR_DIR / "events.log"))
LOGGING: dict[str, object] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "events": (
            {"class": "logging.NullHandler"} if EVENT_LOG == "off"
            else {"class": "logging.StreamHandler", "formatter": "plain"} if EVENT_LOG == "-"
            else {"class": "kapula.core.logs.EventLogHandler", "filename": EVENT_LOG,
                  "formatter": "plain"}
        ),
    },
    "root": {"handlers": ["console"], "level": env("KAPULA_LOG_LEVEL", "WARNING")},
    "loggers": {
        "kapula": {"level": env("KAPULA_LOG_LEVEL", "INFO")},
        "kapula.events": {"handlers": ["events"], "level": "INFO", "propagate": False},
    },
}
