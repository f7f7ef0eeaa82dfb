"""Settings for vnetweb, read from the environment with defaults that run on a fresh checkout.

docs/deployment.md lists every variable. Production needs at least VNETWEB_SECRET_KEY (or a
writable data directory where one is generated), VNETWEB_ALLOWED_HOSTS and, behind TLS,
VNETWEB_HTTPS=true.
"""

import re
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from vnetweb.env import env_bool, env_int, env_list, env_networks, env_str
from vnetweb.private_files import write_private

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("VNETWEB_DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("VNETWEB_DEBUG", False)


def _secret_key() -> str:
    key = env_str("VNETWEB_SECRET_KEY")
    if key:
        return key
    # No key given: keep one in the data directory so sessions survive restarts of `make run`;
    # 0600 from the start, in a directory made 0700 (vnetweb.private_files).
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        write_private(key_file, secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("VNETWEB_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("VNETWEB_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "networks.admin_site.VnetwebAdminConfig",  # django.contrib.admin, with vnetweb's roles
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "csp",
    # The API (networks.api): its Swagger page's scripts are served from ninja's own static files.
    "ninja",
    "networks",
]

MIDDLEWARE = [
    # First: X-Forwarded-* headers count only from the site's own proxies (VNETWEB_TRUSTED_PROXIES).
    "vnetweb.proxy.ForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "vnetweb.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The client's address for the audit trail's entries (networks.audit).
    "vnetweb.proxy.AddressMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Sessions end after VNETWEB_SESSION_IDLE_MINUTES without the user doing anything.
    "vnetweb.idle.SessionActivityMiddleware",
    # Last, as django-axes asks: it turns a lockout noticed during authentication into the page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vnetweb.urls"
WSGI_APPLICATION = "vnetweb.wsgi.application"

TEMPLATES = [
    {
        # The site's one engine, for every template of ours (templates/jinja2/; vnetweb/jinja2.py
        # says why and what it adds). First, so that Django's views that render by name (login,
        # password change, the 403/404/500 pages) find ours.
        "BACKEND": "vnetweb.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "vnetweb.jinja2.environment",
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "networks.context_processors.role",
            ],
        },
    },
    {
        # Only for Django's own apps (the admin site's templates); none of ours is a Django
        # template (tests/test_one_template_engine.py).
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

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'vnetweb.sqlite3'}"),
        conn_max_age=env_int("VNETWEB_DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and workers write the same file: wait for a lock instead of failing at once. Connections
    # are kept like any other database's (a web thread's: opening one, with the SQL functions
    # Django registers, cost ~3 ms a request); in autocommit a kept connection holds no lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username or address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "network-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("VNETWEB_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("VNETWEB_STATIC_ROOT", str(DATA_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env_str(
            "VNETWEB_STATICFILES_STORAGE", "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# HTTPS hardening: on behind TLS (VNETWEB_HTTPS=true); off for `make run` on plain http://127.0.0.1.
HTTPS = env_bool("VNETWEB_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("VNETWEB_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("VNETWEB_HSTS_SECONDS", 31536000) if HTTPS else 0
# The container health check asks over plain http from inside the container.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Behind the site's reverse proxy: it says whether the request came over TLS, and from where
# (X-Forwarded-For, for the audit trail's addresses).
VNETWEB_BEHIND_PROXY = env_bool("VNETWEB_BEHIND_PROXY", False)
if VNETWEB_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The proxies' own addresses: those headers are believed only on connections from them
# (vnetweb.proxy); a client that reaches the app port directly cannot choose its address.
VNETWEB_TRUSTED_PROXIES = env_networks("VNETWEB_TRUSTED_PROXIES", ["127.0.0.1", "::1"])
# The longest request body the web server reads (vnetweb/asgi.py): Django's own default for a
# form's data; the raw XML of a network with 4000 static hosts posts about 0.5 MB.
VNETWEB_MAX_REQUEST_BYTES = env_int("VNETWEB_MAX_REQUEST_BYTES", 2_621_440)
# Threads per web process for the ordinary (synchronous) pages (vnetweb/asgi.py): pages are
# CPU-bound, and more threads only contend for the GIL.
VNETWEB_WEB_THREADS = env_int("VNETWEB_WEB_THREADS", 2)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# A session lasts this long after the user's last request (vnetweb.idle keeps it going).
SESSION_COOKIE_AGE = env_int("VNETWEB_SESSION_IDLE_MINUTES", 480) * 60

# Failed logins (django-axes): VNETWEB_LOGIN_FAILURE_LIMIT failures within the cool-off lock
# for the cool-off a user name from the address that tried it, and an address for every name.
# Not a name from every address: then anyone could keep any account (admin) locked for good.
# A guesser of one name must therefore change address every few tries; passwords pass Django's
# validators, and an admin can end a lock at once on the user's page (networks.views.users).
AXES_FAILURE_LIMIT = env_int("VNETWEB_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("VNETWEB_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# Tries refused during a lock do not start the cool-off again: a lock ends on time.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The same client address as the audit trail's: X-Forwarded-For only with VNETWEB_BEHIND_PROXY.
AXES_CLIENT_IP_CALLABLE = "vnetweb.proxy.client_address"
AXES_LOCKOUT_CALLABLE = "vnetweb.lockout.locked_out"
# A successful login does not forgive earlier failures: it would let a guesser with an account of
# their own reset their address's count by logging in between guesses.
AXES_RESET_ON_SUCCESS = False
# Successful logins are not kept in a table of axes' own (a row per login, never pruned).
AXES_DISABLE_ACCESS_LOG = True

# Content Security Policy (django-csp): every script and style comes from vnetweb's own static
# files; no inline script, event handler or style attribute anywhere (tests/test_csp_browser.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Celery: Redis is broker and result store; every libvirt operation runs on the queue of its host.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "vnetweb"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat rewrites its schedule file after every task it sends: the beat health check reads its age.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("VNETWEB_CELERY_EAGER", False)
# A request that queues a job gives up on an unreachable Redis within about a second and says so
# on the job, instead of hanging the page on Celery's default retries.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# The worker's start and stop hooks (its tasks are found by autodiscovery in vnetweb/celery.py).
CELERY_IMPORTS = ("networks.worker.hooks",)

# Beat's sweep: every host read whole (networks, leases, guests, host facts) once in this many
# seconds, spread over the period. A safety net: changes reach the database through libvirt's
# events, lease files and lease polls (networks.worker.monitor) within a second or two.
VNETWEB_REFRESH_SECONDS = env_int("VNETWEB_REFRESH_SECONDS", 60)
# How often a worker asks a host it reaches over the network (qemu+ssh://) for the lease lists of
# its running networks with DHCP (their lease files are on that host, out of its sight).
VNETWEB_REMOTE_LEASE_SECONDS = env_int("VNETWEB_REMOTE_LEASE_SECONDS", 2)
# Transient libvirt failures (host unreachable, daemon restarting) are retried this often.
VNETWEB_JOB_MAX_RETRIES = env_int("VNETWEB_JOB_MAX_RETRIES", 3)
# Workers announce in Redis which hosts they serve (networks.worker.presence): a job for a host
# that no live worker serves fails at once, and a queued one whose worker went away within seconds.
# false only while some workers are too old to announce themselves.
VNETWEB_WORKER_PRESENCE = env_bool("VNETWEB_WORKER_PRESENCE", True)
# Which hosts' queues a worker serves (networks.worker.queues): glob patterns on host names, the
# excluded ones winning. Set per worker process; the web and beat do not read them.
VNETWEB_WORKER_HOSTS = env_list("VNETWEB_WORKER_HOSTS", ["*"])
VNETWEB_WORKER_EXCLUDE = env_list("VNETWEB_WORKER_EXCLUDE", [])
# Whether a worker serving qemu:///system reads that host's bridges, NICs and routes over netlink
# (false in a container with a network namespace of its own: libvirt's interface list is used).
VNETWEB_HOST_NETLINK = env_bool("VNETWEB_HOST_NETLINK", True)
# The worker's monitor (networks.worker.monitor): libvirt's network events, lease files, switches'
# host side, so pages follow changes within a second. Off only to debug a worker.
VNETWEB_MONITOR = env_bool("VNETWEB_MONITOR", True)
# How often the monitor reads the host side of the switches (links, firewall, dnsmasq), and
# samples the counters of the networks whose page someone has open.
VNETWEB_SWITCH_SECONDS = env_int("VNETWEB_SWITCH_SECONDS", 2)
# How often the counters of the other running bridges are written too (for /metrics); 0: never.
VNETWEB_COUNTERS_SECONDS = env_int("VNETWEB_COUNTERS_SECONDS", 30)
# The first word of the names of the iptables chains port forwards are written into (PREFIX_PRE,
# _OUT, _POST, _FWD): one set per vnetweb site writing a host's firewall (the tests use VNWT).
VNETWEB_FORWARD_CHAINS = env_str("VNETWEB_FORWARD_CHAINS", "VNETWEB")
if not re.fullmatch(r"[A-Z][A-Z0-9]{0,15}", VNETWEB_FORWARD_CHAINS):
    raise ImproperlyConfigured(
        "VNETWEB_FORWARD_CHAINS must be 1 to 16 capital letters or digits, the first a letter."
    )
# How long a connect to a remote host may take before the host is called unreachable (libvirt has
# no timeout of its own: a host whose packets are dropped would hold a worker for minutes).
VNETWEB_CONNECT_SECONDS = env_int("VNETWEB_CONNECT_SECONDS", 10)
# libvirt keepalive: a host that misses this many probes, this many seconds apart, is dropped
# (about interval x (count + 1): 15 s; with 3, a host whose packets are dropped showed unreachable
# only after 29-35 s, bench/fleet.py --failures).
VNETWEB_KEEPALIVE_INTERVAL = env_int("VNETWEB_KEEPALIVE_INTERVAL", 5)
VNETWEB_KEEPALIVE_COUNT = env_int("VNETWEB_KEEPALIVE_COUNT", 2)
# The API (networks.api): wrong tokens from one address within the window before it is refused
# (429) until the window ends; who may read /metrics without a token (addresses or networks).
VNETWEB_API_FAILURE_LIMIT = env_int("VNETWEB_API_FAILURE_LIMIT", 20)
VNETWEB_API_FAILURE_MINUTES = env_int("VNETWEB_API_FAILURE_MINUTES", 15)
VNETWEB_METRICS_ALLOW = env_networks("VNETWEB_METRICS_ALLOW", [])
# The longest a `?wait=` on a job (or a change) holds its request, in seconds.
VNETWEB_API_WAIT_MAX = env_int("VNETWEB_API_WAIT_MAX", 60)
# How long the audit trail keeps its entries; older ones are pruned once a day.
VNETWEB_AUDIT_DAYS = env_int("VNETWEB_AUDIT_DAYS", 365)
# The most entries one /audit.csv holds (a last line says when there were more).
VNETWEB_AUDIT_CSV_ROWS = env_int("VNETWEB_AUDIT_CSV_ROWS", 10_000)
# Live-update streams one user may hold open at once (each holds a connection to the web server).
VNETWEB_LIVE_STREAMS_PER_USER = env_int("VNETWEB_LIVE_STREAMS_PER_USER", 8)
# The only folders a host URI may take files from (networks.host_uri): ssh's keyfile= and
# known_hosts= name a file directly in the first, TLS's pkipath= the second or a folder in it.
VNETWEB_SSH_DIR = str(BASE_DIR / env_str("VNETWEB_SSH_DIR", "/etc/vnetweb/ssh"))
VNETWEB_PKI_DIR = str(BASE_DIR / env_str("VNETWEB_PKI_DIR", "/etc/vnetweb/pki"))
# A folder of libvirt test-driver host files (simulated hosts) that a test:/// URI may name, besides
# vnetweb's own demo host; empty: none. bench/fleet.py generates its 200 hosts into one.
VNETWEB_TEST_HOSTS_DIR = env_str("VNETWEB_TEST_HOSTS_DIR", "")

# First-run set-up (manage.py vnetweb_setup): the first admin, made only while there is no
# superuser (no password: one is generated and kept in DATA_DIR), the URI of the host "local", and
# whether the demo host (libvirt's test driver) is registered.
VNETWEB_ADMIN_USER = env_str("VNETWEB_ADMIN_USER", "admin")
VNETWEB_ADMIN_PASSWORD = env_str("VNETWEB_ADMIN_PASSWORD")
VNETWEB_LOCAL_URI = env_str("VNETWEB_LOCAL_URI", "qemu:///system")
VNETWEB_DEMO_HOST = env_bool("VNETWEB_DEMO_HOST", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("VNETWEB_LOG_LEVEL", "INFO")},
}

CELERY_BEAT_SCHEDULE = {
    "prune-audit": {
        "task": "networks.tasks.prune_audit",
        "schedule": 24 * 3600.0,
        "options": {"expires": 3600.0},
    },
    # Fans out one refresh per host, each on that host's queue and spread over the period
    # (see networks.worker.tasks).
    "refresh-hosts": {
        "task": "networks.tasks.schedule_refreshes",
        "schedule": float(VNETWEB_REFRESH_SECONDS),
        "options": {"expires": float(VNETWEB_REFRESH_SECONDS)},
    },
    "fail-lost-jobs": {
        "task": "networks.tasks.fail_lost_jobs",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Queued jobs of hosts no live worker serves any more fail, saying so (networks.worker.tasks).
    "fail-unserved-jobs": {
        "task": "networks.tasks.fail_unserved_jobs",
        "schedule": 5.0,
        "options": {"expires": 5.0},
    },
    # Open pages hear of a host whose worker went away, or came back (networks.worker.tasks).
    "tell-unserved-hosts": {
        "task": "networks.tasks.tell_unserved_hosts",
        "schedule": 5.0,
        "options": {"expires": 5.0},
    },
    # A safety net for hosts added while a worker was away: workers re-read which queues they serve.
    "sync-worker-queues": {
        "task": "networks.tasks.broadcast_queue_sync",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
}
