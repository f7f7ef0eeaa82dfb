"""Fixtures shared by the whole suite: a fixed cast of users and hosts on libvirt's test driver.

Fixtures for the real libvirt host (networks, namespace guests, a Celery worker) live in
tests/real.py and are loaded from here too.
"""

import json
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from django.test.signals import template_rendered
from django.utils import timezone

from networks import live, subnets
from networks.models import Guest, Host, Network
from vnetweb import jinja2

pytest_plugins = [
    "tests.exclusive",
    "tests.real",
    "tests.browser",
    "tests.postgres",
    "tests.main_pages",
]

# A fixed moment for tests that show times relative to now; whole seconds, as dnsmasq's are.
FROZEN_AT = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="session")
def _jinja2_tells_the_test_client():
    """response.context for the site's Jinja2 pages: Django's test client
    reads them from the template_rendered signal, which only Django's own engine sends (it is
    instrumented for tests by django.test.utils.setup_test_environment)."""
    render = jinja2.Template.render

    def instrumented(self, context=None, request=None):
        template_rendered.send(sender=self, template=self, context=context or {})
        return render(self, context, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jinja2.Template, "render", instrumented)
        yield


@pytest.fixture
def frozen_clock(time_machine):
    """The clock stands still at FROZEN_AT (time.time, datetime and timezone.now alike) until the
    test moves it: `frozen_clock.shift(seconds)`, `frozen_clock.move_to(moment)`."""
    time_machine.move_to(FROZEN_AT, tick=False)
    return time_machine


def _member(username: str, group: str | None) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username)
    if group:
        # get_or_create: transactional tests flush the groups that the roles migration made.
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def admin(db) -> User:
    return _member("alice-admin", "admin")


@pytest.fixture
def operator(db) -> User:
    return _member("oscar-operator", "operator")


@pytest.fixture
def viewer(db) -> User:
    return _member("vera-viewer", "viewer")


@pytest.fixture
def outsider(db) -> User:
    """Logged in, but given no role."""
    return _member("otto-outsider", None)


@pytest.fixture
def client_as():
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def test_host(db) -> Host:
    """A host on libvirt's test driver (its state lives in this test process)."""
    return Host.objects.create(name="testdrv", uri="test:///default", description="test driver")


@pytest.fixture
def make_network(db):
    """A Network row as a worker would have written it, without asking libvirt."""

    def make(host: Host, name: str = "net1", **fields) -> Network:
        defaults = {
            "uuid": uuid.uuid4(),
            "active": False,
            "persistent": True,
            "autostart": False,
            "bridge": f"br-{name}"[:15],
            "mode": "nat",
            "ipv4": "10.0.0.1/24",
            "xml": f"<network><name>{name}</name></network>",
            "last_seen": timezone.now(),
        }
        defaults.update(fields)
        # The subnet bounds a worker derives from the addresses (for sorting and the filter).
        for family in ("ipv4", "ipv6"):
            first = defaults[family].split(",")[0].strip() if defaults.get(family) else ""
            subnet = subnets.parse(first) if first else None
            if subnet is not None:
                lo, hi = subnets.bounds(subnet)
                defaults.setdefault(f"{family}_lo", lo)
                defaults.setdefault(f"{family}_hi", hi)
        return Network.objects.create(host=host, name=name, **defaults)

    return make


@pytest.fixture
def make_guest(db):
    """A Guest row as a worker would have written it: make(host, "vm1", nics=[("net1", mac)])."""

    def make(host: Host, name: str = "vm1", *, nics=(), **fields) -> Guest:
        rows = []
        for network, mac, *rest in nics:
            extra = rest[0] if rest else {}
            rows.append(
                {
                    "mac": mac,
                    "type": "network",
                    "source": network,
                    "network": network,
                    "model": "virtio",
                    "device": "",
                    "link": "up",
                    "agent": [],
                    "config": True,
                    **extra,
                }
            )
        defaults = {
            "uuid": uuid.uuid4(),
            "state": "running",
            "persistent": True,
            "hotplug": True,
            "xml": f"<domain><name>{name}</name></domain>",
            "last_seen": timezone.now(),
        }
        defaults.update(fields)
        return Guest.objects.create(host=host, name=name, nics=rows, **defaults)

    return make


class Listener:  # for tests of what is published on the live channel (networks.live)
    """Subscribes to the channel and keeps what arrives, in a thread of its own."""

    def __init__(self) -> None:
        # Kept: a Redis client that is garbage-collected closes its pool, subscription and all.
        self.client = redis.Redis.from_url(settings.REDIS_URL)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(live.channel())
        self.messages: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.05)
            if message:
                self.messages.append(json.loads(message["data"]))

    def settle(self, seconds: float = 0.3) -> list[dict]:
        time.sleep(seconds)
        return self.messages

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.pubsub.close()
        self.client.close()


@pytest.fixture
def listener():
    listening = Listener()
    yield listening
    listening.close()
