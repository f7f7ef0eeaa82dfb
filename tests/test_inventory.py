"""Which hosts' links a worker reads over netlink, and that the read works from any thread."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from networks.gateway.inventory import is_local, local_inventory


@pytest.mark.parametrize(
    ("uri", "local"),
    [
        ("qemu:///system", True),
        ("qemu+unix:///system", True),
        ("qemu+ssh://root@kvm2/system", False),
        ("qemu+tls://kvm2/system", False),
        ("test:///default", False),
    ],
)
def test_only_a_uri_on_this_machine_is_read_over_netlink(settings, uri, local):
    settings.VNETWEB_HOST_NETLINK = True
    assert is_local(uri) is local


def test_a_worker_in_a_namespace_of_its_own_does_not_read_its_own_links(settings):
    settings.VNETWEB_HOST_NETLINK = False
    assert is_local("qemu:///system") is False


def test_the_hosts_links_are_read_even_inside_a_running_event_loop():
    async def read():
        return local_inventory()

    # A thread of its own: the suite's browser tests may keep a loop in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        inventory = pool.submit(
            lambda: asyncio.new_event_loop().run_until_complete(read())
        ).result()
    assert any(route.dst for route in inventory.routes) or inventory.interfaces
