"""Django settings for utfall.

One settings module, read from environment variables through small typed helpers
(as healthchecks does). SQLite by default; PostgreSQL when ``DATABASE_URL`` says so.
A wrong setting fails at start-up with a clear message.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envstr(name: str, default: str = "") -> str:
    """A string from the environment, or from the file named by ``NAME_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    value = envstr(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str) -> int:
    value = envstr(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def database_from_url(url: str) -> dict[str, object]:
    """Translate ``DATABASE_URL`` into a Django DATABASES entry (postgres:// or sqlite:///)."""
    parsed = urlparse(url)
    if parsed.scheme in ("postgres", "postgresql", "pgsql"):
        options = dict(parse_qsl(parsed.query))
        # JIT compilation costs PostgreSQL ~0.4 s per analytic query and saves less than that
        # on utfall's aggregations; 32 MB lets a year's answers hash in memory. A URL's own
        # ?options=… replaces both (docs/decisions.md).
        options.setdefault("options", "-c jit=off -c work_mem=32MB")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "utfall",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
            # Bounded: one connection per gunicorn worker (threads = 1), kept this many seconds.
            "CONN_MAX_AGE": envint("UTFALL_DB_CONN_MAX_AGE", "60"),
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": options.pop("test_name", None)},
        }
    if parsed.scheme == "sqlite":
        # sqlite:////abs/path.db is absolute, sqlite:///relative.db is relative to the working directory.
        return sqlite_database(Path(unquote(parsed.path[1:])) if parsed.path not in ("", "/") else None)
    raise ImproperlyConfigured(
        f"DATABASE_URL must start with postgres:// or sqlite:///, not {parsed.scheme or url!r}"
    )


def _default_sqlite_path() -> Path:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return DATA_DIR / "utfall.sqlite3"


def sqlite_database(path: Path | None) -> dict[str, object]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path or _default_sqlite_path(),
        "OPTIONS": {
            # WAL lets readers work while an import writes; IMMEDIATE avoids
            # "database is locked" upgrades inside write transactions.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; "
                # A writer waits this long for another's lock (an import commits in slices,
                # UTFALL_IMPORT_COMMIT_ROWS, so a web request's write gets its turn).
                f"PRAGMA busy_timeout={envint('UTFALL_SQLITE_BUSY_TIMEOUT_MS', '20000')}; "
                # Read through memory mapping and a 64 MB page cache: comparisons scan
                # hundreds of thousands of index entries.
                "PRAGMA mmap_size=2147483648; PRAGMA cache_size=-65536;"
            ),
            "transaction_mode": "IMMEDIATE",
        },
    }


# Production is the default: development mode is asked for with DEBUG=true (``./dev`` does).
# A pytest run is development mode unless DEBUG says otherwise (pytest sets PYTEST_VERSION
# before the settings are read; pytest-django then runs the tests with DEBUG off).
DEBUG = envbool("DEBUG", "true" if os.environ.get("PYTEST_VERSION") else "false")
SECRET_KEY = envstr("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (50 random characters or more)")
    SECRET_KEY = "development-only-not-secret"  # noqa: S105
elif not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters long")

ALLOWED_HOSTS = [
    h.strip()
    for h in envstr("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "").split(",")
    if h.strip()
]
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the server's host name(s) when DEBUG is off")
CSRF_TRUSTED_ORIGINS = [o for o in envstr("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

DATA_DIR = Path(envstr("UTFALL_DATA_DIR", str(BASE_DIR / "var")))

# The pseudonym key lives outside the database (invariant 1). See utfall.core.pseudonyms.
UTFALL_PSEUDONYM_KEY = envstr("UTFALL_PSEUDONYM_KEY", "")
UTFALL_PSEUDONYM_KEY_PATH = DATA_DIR / "pseudonym.key"

# Invariant 2: no aggregate of fewer than this many leaves the system.
UTFALL_MIN_COUNT = envint("UTFALL_MIN_COUNT", "5")
if UTFALL_MIN_COUNT < 3:
    raise ImproperlyConfigured("UTFALL_MIN_COUNT may be raised, never set below 3")

UTFALL_DEMO = envbool("UTFALL_DEMO", "false")

# Disposal (gallring, SoL 12 kap.): `utfall dispose` anonymises interventions that ended more
# than this many years ago, and their follow-ups (utfall.followups.disposal).
UTFALL_RETENTION_YEARS = envint("UTFALL_RETENTION_YEARS", "5")
if UTFALL_RETENTION_YEARS < 1:
    raise ImproperlyConfigured("UTFALL_RETENTION_YEARS must be at least 1")

# Two-factor sign-in for every role that sees individual data (utfall.core.twofactor).
UTFALL_TWO_FACTOR = envbool("UTFALL_TWO_FACTOR", "false" if DEBUG else "true")
OTP_TOTP_ISSUER = envstr("OTP_TOTP_ISSUER", "utfall")

# OpenID Connect single sign-on (mozilla-django-oidc; utfall.core.oidc). Accounts are made by an
# administrator with their roles; the identity provider only proves who signs in, by the claim
# UTFALL_OIDC_USERNAME_CLAIM matching the user name. Its MFA counts as the second factor when
# UTFALL_OIDC_TRUST_MFA is on and the ID token's "amr" says so.
UTFALL_OIDC = envbool("UTFALL_OIDC", "false")
UTFALL_OIDC_USERNAME_CLAIM = envstr("UTFALL_OIDC_USERNAME_CLAIM", "preferred_username")
UTFALL_OIDC_TRUST_MFA = envbool("UTFALL_OIDC_TRUST_MFA", "false")
UTFALL_OIDC_ISSUER = envstr("UTFALL_OIDC_ISSUER", "")
OIDC_RP_CLIENT_ID = envstr("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = envstr("OIDC_RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = envstr("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_OP_AUTHORIZATION_ENDPOINT = envstr("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = envstr("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = envstr("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = envstr("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SCOPES = envstr("OIDC_RP_SCOPES", "openid profile")
OIDC_CREATE_USER = False
OIDC_USE_NONCE = True
OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = 15 * 60
if UTFALL_OIDC and not all(
    (OIDC_RP_CLIENT_ID, OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_JWKS_ENDPOINT)
):
    raise ImproperlyConfigured(
        "UTFALL_OIDC=true needs OIDC_RP_CLIENT_ID, OIDC_OP_AUTHORIZATION_ENDPOINT, "
        "OIDC_OP_TOKEN_ENDPOINT and OIDC_OP_JWKS_ENDPOINT (docs/deploy.md)"
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "template_partials",
    "utfall.core",
    "utfall.organisations",
    "utfall.registry",
    "utfall.instruments",
    "utfall.followups",
    "utfall.aggregates",
    "utfall.interchange",
    "utfall.comparisons",
    "utfall.oversight",
    "utfall.procurement",
    "utfall.results",
    "utfall.reports",
    "utfall.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Production: static files (collected by ``utfall collectstatic``) are answered here, before
    # anything below (sessions, no-store) runs. Development serves them from the app folders.
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),
    "utfall.core.middleware.body_limit",
    "utfall.core.middleware.no_nul",
    "utfall.core.middleware.no_store",
    "utfall.core.middleware.plain_error_pages",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "utfall.core.middleware.session_timeouts",
    "django_otp.middleware.OTPMiddleware",
    "utfall.core.twofactor.second_factor_required",
    "utfall.core.middleware.audit_refusals",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "utfall.urls"
WSGI_APPLICATION = "utfall.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "utfall" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "utfall.core.context_processors.access",
            ],
        },
    },
]

_database_url = envstr("DATABASE_URL", "")
# Counts for the results pages, cached per process under the data's generation token
# (utfall.comparisons.cache): a changed token makes every earlier entry unreachable.
CACHES = {
    "default": {
        "BACKEND": "utfall.comparisons.cache.Store",  # LocMemCache, its keys not checked again
        "LOCATION": "utfall",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}
DATABASES = {"default": database_from_url(_database_url) if _database_url else sqlite_database(None)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "organisations.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "utfall.core.oidc.Backend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock-out (docs/access.md): a user name from one address after UTFALL_LOCKOUT_LIMIT failures,
# a user name from anywhere after UTFALL_LOCKOUT_USERNAME_LIMIT; never an address alone (a
# municipality's staff share a few outgoing addresses). Each failure past the limit doubles
# the wait, from UTFALL_LOCKOUT_MINUTES up to a day.
UTFALL_LOCKOUT_LIMIT = envint("UTFALL_LOCKOUT_LIMIT", "5")
UTFALL_LOCKOUT_USERNAME_LIMIT = envint("UTFALL_LOCKOUT_USERNAME_LIMIT", "20")
UTFALL_LOCKOUT_MINUTES = envint("UTFALL_LOCKOUT_MINUTES", "15")
AXES_FAILURE_LIMIT = "utfall.core.lockout.failure_limit"
AXES_COOLOFF_TIME = "utfall.core.lockout.cool_off"
AXES_USE_ATTEMPT_EXPIRATION = True
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "utfall.core.lockout.client_ip"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "person_id"]

# The real client address behind a reverse proxy: the header the proxy sets (e.g.
# X-Forwarded-For) and how many proxies append to it. Unset: the connection's address.
UTFALL_CLIENT_IP_HEADER = envstr("UTFALL_CLIENT_IP_HEADER", "")
UTFALL_PROXY_COUNT = envint("UTFALL_PROXY_COUNT", "1")

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "utfall" / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "utfall" / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names and compressed copies, made by ``utfall collectstatic`` and served by whitenoise.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "utfall.core.staticfiles.Storage"
    },
}

# Sessions end after UTFALL_SESSION_IDLE_MINUTES without a request and at the latest
# UTFALL_SESSION_HOURS after signing in (utfall.core.middleware.session_timeouts).
UTFALL_SESSION_IDLE_MINUTES = envint("UTFALL_SESSION_IDLE_MINUTES", "30")
UTFALL_SESSION_HOURS = envint("UTFALL_SESSION_HOURS", "10")
SESSION_COOKIE_AGE = UTFALL_SESSION_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# TLS: redirect plain HTTP and send HSTS in production. Behind a proxy that ends TLS, name the
# header it sets (UTFALL_PROXY_SSL_HEADER=X-Forwarded-Proto), or every request looks like HTTP.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "false" if DEBUG else "true")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "false" if DEBUG else "true")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")
# Preloading commits the whole registrable domain (the municipality's, not utfall's) in
# browsers; that is the domain owner's decision, so its reminder is silenced (docs/deploy.md).
SILENCED_SYSTEM_CHECKS = ["security.W021"]
_proxy_ssl_header = envstr("UTFALL_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)
# The importer's bounds (docs/interchange.md, "Limits"): a file's size, its data rows and
# columns, and how many errors are listed before the rest are only counted. On SQLite the
# write pass commits every UTFALL_IMPORT_COMMIT_ROWS rows so web requests keep working.
UTFALL_IMPORT_MAX_BYTES = envint("UTFALL_IMPORT_MAX_BYTES", str(200 * 1024 * 1024))
UTFALL_IMPORT_MAX_ROWS = envint("UTFALL_IMPORT_MAX_ROWS", "1000000")
UTFALL_IMPORT_MAX_COLUMNS = envint("UTFALL_IMPORT_MAX_COLUMNS", "200")
UTFALL_IMPORT_MAX_ERRORS = envint("UTFALL_IMPORT_MAX_ERRORS", "1000")
UTFALL_IMPORT_COMMIT_ROWS = envint("UTFALL_IMPORT_COMMIT_ROWS", "5000")
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("UTFALL_MAX_BODY_BYTES", str(2 * 1024 * 1024))
# Documents attached to in-depth follow-ups: outside the static files, read only through the
# download view; a multipart body may be this much larger than the body limit above.
UTFALL_DOCUMENT_DIR = Path(envstr("UTFALL_DOCUMENT_DIR", str(DATA_DIR / "documents")))
UTFALL_DOCUMENT_MAX_BYTES = envint("UTFALL_DOCUMENT_MAX_BYTES", str(10 * 1024 * 1024))
#: The pages that take documents (oversight.urls): only their multipart bodies get the extra room.
UTFALL_UPLOAD_PATHS = ("/fordjupade-uppfoljningar/", "/utforare/")
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "WARNING")},
}

EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "utfall@localhost")

if not UTFALL_PSEUDONYM_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "UTFALL_PSEUDONYM_KEY or UTFALL_PSEUDONYM_KEY_FILE must be set when DEBUG is off: "
        "identity numbers cannot be pseudonymised without a secret key kept outside the database"
    )
if UTFALL_PSEUDONYM_KEY and len(UTFALL_PSEUDONYM_KEY) < 32:
    raise ImproperlyConfigured("UTFALL_PSEUDONYM_KEY must be at least 32 characters long")
