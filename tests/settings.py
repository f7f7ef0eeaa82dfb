"""Test settings: the real settings, with a file-based test database that a Celery worker started
by a test (another process) can open, a Redis database of the tests' own, and fast hashing.

VNETWEB_TEST_DATABASE_URL (a PostgreSQL URL, as scripts/postgres-tests.sh gives) puts the tests on
that server: Django makes its test database there, test_<name>, and drops it afterwards. The worker
processes a test starts get that test database as DATABASE_URL instead (tests/real.py)."""

import os

import dj_database_url

from vnetweb.env import env_bool
from vnetweb.settings import *  # noqa: F403
from vnetweb.settings import DATA_DIR, DATABASES

if os.environ.get("VNETWEB_TEST_DATABASE_URL"):
    DATABASES["default"] = dj_database_url.parse(
        os.environ["VNETWEB_TEST_DATABASE_URL"], conn_max_age=DATABASES["default"]["CONN_MAX_AGE"]
    )

# Never the site's own Redis database: workers of a running `make run` must not see test jobs.
REDIS_URL = CELERY_BROKER_URL = os.environ.get(
    "VNETWEB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
)

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
VNETWEB_JOB_MAX_RETRIES = 2
# Most tests make jobs with no worker running, then run the task themselves or expect "queued":
# the presence check is on only where a test turns it on (tests/test_worker_presence.py), also in
# the worker processes it starts (through the environment).
VNETWEB_WORKER_PRESENCE = env_bool("VNETWEB_WORKER_PRESENCE", False)
# Django's test server (WSGI) learns that a page went away only at the stream's next write, so a
# browser test walking many pages as one user would meet the cap; the cap's tests set it low.
VNETWEB_LIVE_STREAMS_PER_USER = 1000
# Wrong API tokens are counted per address in Redis for VNETWEB_API_FAILURE_MINUTES, across tests:
# the many tests that send a wrong one from 127.0.0.1 must not brake the tests after them. The
# brake's own test sets a low limit for an address of its own (tests/test_token_pages.py).
VNETWEB_API_FAILURE_LIMIT = 1000
# The tests' port forwards live in chains of their own (VNWT_PRE, ...), never a site's.
VNETWEB_FORWARD_CHAINS = "VNWT"
