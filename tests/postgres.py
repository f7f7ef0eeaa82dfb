"""What a run on PostgreSQL (VNETWEB_TEST_DATABASE_URL, scripts/postgres-tests.sh) needs more than
one on SQLite: the test database can be dropped at the end only when no session is left on it."""

import pytest
from django.conf import settings
from django.db import connection


def _on_postgresql() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture(autouse=True, scope="session")
def _no_session_left_on_the_test_database(request):
    """Ends this run's other sessions on the test database before pytest-django drops it.

    Threads of the test process keep connections that nothing closes: the live server's streaming
    request threads (daemons it does not join) and the thread pools that run async views. SQLite
    does not mind; PostgreSQL refuses to drop a database in use and would leave test_<name> behind.
    Only this run can be on it (tests/exclusive.py), and its workers have stopped by now.
    """
    if not _on_postgresql():
        yield
        return
    request.getfixturevalue("django_db_setup")  # so this teardown runs before the drop
    yield
    with request.getfixturevalue("django_db_blocker").unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
