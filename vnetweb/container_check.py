"""Container checks: `python -m vnetweb.container_check web|worker NAME|beat SCHEDULE|ports-free …`.

Exit 0 when healthy, 1 with a reason on stderr otherwise. docker-compose.yml runs them.
- web: GET /healthz/ on this container's gunicorn (the database is reachable).
- worker NAME: the Celery node NAME@<this hostname> answers a ping over the broker.
- beat SCHEDULE: beat rewrote its schedule file within a minute (it does after every task it
  sends, CELERY_BEAT_SYNC_EVERY=1, and its shortest period is a few seconds).
- ports-free ADDRESS:PORT=SETTING ...: before a compose stack starts, in the host's network: each
  port is free (bound for an instant, then let go), or already held by this same stack (a second
  `up`), which is known by its PostgreSQL taking this stack's password on its loopback port.

What a check needs of the configuration (the site's host names, beat's schedule) it takes
from the site's settings, read as the checked process reads them: the same defaults and the same
strict parsing, and no second reading of the environment. Only the worker check sets Django up
(Celery's app needs it); the others load the settings module alone, about 0.1 s more per check
than reading the variables directly, run every 15 to 30 s (docker-compose.yml).
"""

import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def _settings():
    """The site's settings (loaded, not set up: no app is imported)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")
    from django.conf import settings

    return settings


def _site_host() -> str:
    # The first name the site answers to: Django refuses other Host headers.
    names = _settings().ALLOWED_HOSTS
    name = names[0] if names else "localhost"
    return "localhost" if name == "*" else name.lstrip(".")


def check_web(url: str = "http://127.0.0.1:8000/healthz/") -> str | None:
    request = urllib.request.Request(url, headers={"Host": _site_host()})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return None if response.status == 200 else f"/healthz/ answered {response.status}"
    except urllib.error.HTTPError as exc:
        return f"/healthz/ answered {exc.code}: {exc.read(200).decode(errors='replace')}"
    except OSError as exc:
        return f"/healthz/ did not answer: {exc}"


def check_worker(name: str) -> str | None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")
    django.setup()
    from vnetweb.celery import app

    node = f"{name}@{socket.gethostname()}"
    try:
        replies = app.control.ping(destination=[node], timeout=5)
    except Exception as exc:  # broker errors vary by transport
        return f"could not ask {node}: {exc}"
    return None if replies else f"worker {node} did not answer a ping within 5 s"


def beat_silence_limit() -> float:
    """How long beat may leave its schedule file alone: six of its shortest periods (beat writes
    the file after every task it sends, even one Redis refused), at least a minute. Not the
    refresh's period: at 60 s that would let a dead beat pass for six minutes."""
    periods = [float(entry["schedule"]) for entry in _settings().CELERY_BEAT_SCHEDULE.values()]
    return max(60.0, 6 * min(periods))


def check_beat(schedule: str) -> str | None:
    limit = beat_silence_limit()
    candidates = [Path(schedule), *Path(schedule).parent.glob(Path(schedule).name + ".*")]
    mtimes = [path.stat().st_mtime for path in candidates if path.exists()]
    if not mtimes:
        return f"no beat schedule at {schedule}"
    age = time.time() - max(mtimes)
    return None if age <= limit else f"beat last wrote its schedule {age:.0f} s ago (> {limit:g} s)"


def _port_taken(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as probe:
        # As every server sets it: connections still in TIME_WAIT do not make a port "taken".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return True
    return False


def _stack_running() -> bool:
    """Whether this stack's PostgreSQL already answers where the settings' DATABASE_URL says (the
    compose file points it at the loopback port), with this stack's password."""
    import psycopg

    db = _settings().DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return False
    try:
        psycopg.connect(
            host=db["HOST"],
            port=int(db["PORT"] or 5432),
            user=db["USER"],
            dbname=db["NAME"],
            password=db["PASSWORD"],
            connect_timeout=3,
        ).close()
    except (psycopg.Error, ValueError):
        return False
    return True


def check_ports_free(*wanted: str) -> str | None:
    taken = []
    for spec in wanted:
        where, _, setting = spec.partition("=")
        address, _, port = where.rpartition(":")
        if _port_taken(address.strip("[]"), int(port)):
            taken.append(
                f"port {port} on {address} is in use on this machine (set {setting} in .env)"
            )
    if not taken or _stack_running():
        return None
    return (
        "vnetweb did not start: "
        + "; ".join(taken)
        + ". Another vnetweb (`make run`) or another service holds it; nothing was started."
    )


def main(argv: list[str]) -> int:
    checks = {
        "web": check_web,
        "worker": check_worker,
        "beat": check_beat,
        "ports-free": check_ports_free,
    }
    if not argv or argv[0] not in checks:
        print(__doc__, file=sys.stderr)
        return 2
    problem = checks[argv[0]](*argv[1:])
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
