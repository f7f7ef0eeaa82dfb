"""The container health checks (vnetweb/container_check.py), with a real web server and worker."""

import os
import socket
import time

import pytest

from tests.real import wait_for
from vnetweb import container_check as healthcheck


def test_web_is_healthy_when_the_site_answers_its_health_page(live_server):
    assert healthcheck.check_web(f"{live_server.url}/healthz/") is None


def test_web_is_unhealthy_when_nothing_answers():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    problem = healthcheck.check_web(f"http://127.0.0.1:{port}/healthz/")
    assert problem and "did not answer" in problem


def test_beat_is_healthy_while_it_keeps_rewriting_its_schedule(tmp_path):
    (tmp_path / "celerybeat-schedule.dat").write_bytes(b"x")
    assert healthcheck.check_beat(str(tmp_path / "celerybeat-schedule")) is None


def test_beat_is_unhealthy_when_its_schedule_is_old_or_missing(tmp_path):
    schedule = tmp_path / "celerybeat-schedule"
    assert "no beat schedule" in healthcheck.check_beat(str(schedule))
    schedule.write_bytes(b"x")
    an_hour_ago = time.time() - 3600
    os.utime(schedule, (an_hour_ago, an_hour_ago))
    assert "s ago" in healthcheck.check_beat(str(schedule))


def _written_ago(path, seconds: float) -> None:
    path.write_bytes(b"x")
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_check_takes_the_site_name_from_the_settings(settings):
    settings.ALLOWED_HOSTS = [".vnetweb.example.org", "other.example.org"]
    assert healthcheck._site_host() == "vnetweb.example.org"


def test_beat_silent_for_over_a_minute_is_unhealthy_whatever_the_refresh_period(settings, tmp_path):
    """Beat sends fail-unserved-jobs every 5 s and rewrites its schedule after each: a minute
    without a write is a dead beat, even when hosts are refreshed only every few minutes."""
    settings.VNETWEB_REFRESH_SECONDS = 1000
    schedule = tmp_path / "celerybeat-schedule"
    _written_ago(schedule, 50)
    assert healthcheck.check_beat(str(schedule)) is None
    _written_ago(schedule, 70)
    assert "(> 60 s)" in healthcheck.check_beat(str(schedule))


def test_the_beat_limit_follows_the_shortest_period_of_beats_schedule(settings, tmp_path):
    settings.CELERY_BEAT_SCHEDULE = {
        "slow": {"task": "x", "schedule": 600.0},
        "slower": {"task": "y", "schedule": 3600.0},
    }
    schedule = tmp_path / "celerybeat-schedule"
    _written_ago(schedule, 3000)
    assert healthcheck.check_beat(str(schedule)) is None
    _written_ago(schedule, 3700)
    assert "(> 3600 s)" in healthcheck.check_beat(str(schedule))


@pytest.mark.worker
def test_worker_is_healthy_only_while_its_node_answers_a_ping(celery_worker_process, monkeypatch):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    assert "did not answer" in healthcheck.check_worker(f"vnwt-nobody-{os.getpid()}")
    celery_worker_process("vnwt-no-such-host")
    # The fixture names its first worker vnwt-<pid>-1@<hostname>.
    wait_for(
        lambda: healthcheck.check_worker(f"vnwt-{os.getpid()}-1") is None,
        timeout=30,
        message="the worker never answered the health check's ping",
    )


def test_the_health_page_tells_anyone_only_that_the_database_failed(client, monkeypatch, caplog):
    from django.db import OperationalError

    from networks.views import healthz

    class Unreachable:
        def cursor(self):
            raise OperationalError('connection to "db.internal" failed for user "vnetweb"')

    monkeypatch.setattr(healthz, "connection", Unreachable())
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.content == b"database unavailable\n"
    assert "db.internal" in caplog.text  # the details are in the log, for the operator


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ports_free_names_a_taken_port_and_the_setting_that_moves_it():
    free = _free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        problem = healthcheck.check_ports_free(
            f"127.0.0.1:{free}=VNETWEB_REDIS_PORT", f"127.0.0.1:{taken}=VNETWEB_PORT"
        )
    assert problem == (
        f"vnetweb did not start: port {taken} on 127.0.0.1 is in use on this machine (set "
        "VNETWEB_PORT in .env). Another vnetweb (`make run`) or another service holds it; "
        "nothing was started."
    )
    assert healthcheck.main(["ports-free", f"127.0.0.1:{free}=VNETWEB_PORT"]) == 0


def test_ports_free_does_not_count_connections_that_are_closing_as_taken():
    # A server that closed first leaves its side in TIME_WAIT: a new server may bind the port.
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()
        client.close()
    assert healthcheck.check_ports_free(f"127.0.0.1:{port}=VNETWEB_PORT") is None
