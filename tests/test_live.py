"""The live-update channel: who publishes what, and the stream each open page listens to.

Real Redis (the tests' database 15, whose channel name carries the number), no mocks.
"""

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import timezone

from networks import gateway, live, redis_client
from networks.jobs import create_job
from networks.models import Job, Network
from networks.views.live import HELLO, KEEPALIVE
from networks.worker.sync import record_network, record_snapshot

FACTS = gateway.HostFacts("h", "9.0.0", "QEMU", "7.2.0", "x86_64", 2, 1 << 20)


def info(name: str, *, active: bool = False, leases=None) -> gateway.NetworkInfo:
    return gateway.NetworkInfo(
        name,
        str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
        active,
        True,
        False,
        f"<network><name>{name}</name><bridge name='vb-{name}'/></network>",
        leases=leases,
    )


def test_the_channel_name_carries_the_redis_database(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    assert live.channel() == "vnetweb:changes:15"
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert live.channel() == "vnetweb:changes:0"


def test_a_publish_inside_a_transaction_waits_for_the_commit(transactional_db, test_host, listener):
    from django.db import transaction

    with transaction.atomic():
        live.publish(test_host.pk, networks=[7], jobs=[9])
        assert listener.settle() == []
    assert listener.settle() == [
        {"host": test_host.pk, "networks": [7], "jobs": [9], "jobs_only": False}
    ]


def test_publishing_without_redis_does_not_fail_the_caller(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    redis_client._client.cache_clear()
    try:
        live.send(1, [2])
    finally:
        redis_client._client.cache_clear()
    assert "live update not sent" in caplog.text


def test_a_refresh_that_changes_nothing_publishes_nothing(transactional_db, test_host, listener):
    snap = gateway.HostSnapshot(facts=FACTS, networks=(info("a"), info("b")))
    record_snapshot(test_host, snap)
    test_host.refresh_from_db()
    first = listener.settle()
    assert len(first) == 1 and sorted(first[0]["networks"]) == sorted(
        Network.objects.values_list("pk", flat=True)
    )
    listener.messages.clear()
    record_snapshot(test_host, snap)  # the same again: an idle host's refresh every 2 s
    assert listener.settle() == []


def test_a_refresh_names_the_networks_that_changed_and_went(transactional_db, test_host, listener):
    record_snapshot(test_host, gateway.HostSnapshot(facts=FACTS, networks=(info("a"), info("b"))))
    test_host.refresh_from_db()
    a, b = (Network.objects.get(name=n).pk for n in "ab")
    listener.settle()
    listener.messages.clear()
    record_snapshot(
        test_host, gateway.HostSnapshot(facts=FACTS, networks=(info("a", active=True),))
    )
    assert listener.settle() == [
        {"host": test_host.pk, "networks": sorted([a, b]), "jobs": [], "jobs_only": False}
    ]


def test_a_new_lease_is_a_change_and_moves_the_lease_version(transactional_db, test_host, listener):
    def snap(*leases):
        return gateway.HostSnapshot(facts=FACTS, networks=(info("a", active=True, leases=leases),))

    record_snapshot(test_host, snap())
    test_host.refresh_from_db()
    network = Network.objects.get(name="a")
    listener.settle()
    listener.messages.clear()
    lease = gateway.LeaseInfo("52:54:00:00:00:01", "10.0.0.5", 24, "g1", "", None)
    record_snapshot(test_host, snap(lease))
    assert [m["networks"] for m in listener.settle()] == [[network.pk]]
    # The network page keeps its rendered lease table per version: it moves on with each change,
    # and only then.
    version = Network.objects.get(pk=network.pk).leases_version
    assert version == network.leases_version + 1
    record_snapshot(test_host, snap(lease))
    assert Network.objects.get(pk=network.pk).leases_version == version
    record_snapshot(test_host, snap())
    assert Network.objects.get(pk=network.pk).leases_version == version + 1


def test_a_job_is_announced_when_queued_and_its_network_after_a_reread(
    transactional_db, test_host, operator, listener
):
    network = record_network(test_host, "a", info("a"))
    listener.settle()
    listener.messages.clear()
    job = create_job(operator, test_host, "start", network=network)
    assert listener.settle() == [
        {"host": test_host.pk, "networks": [network.pk], "jobs": [job.pk], "jobs_only": True}
    ]
    listener.messages.clear()
    record_network(test_host, "a", info("a", active=True))
    assert listener.settle()[0]["jobs_only"] is False
    listener.messages.clear()
    record_network(test_host, "a", None)  # gone
    assert listener.settle() == [
        {"host": test_host.pk, "networks": [network.pk], "jobs": [], "jobs_only": False}
    ]
    assert Job.objects.get(pk=job.pk).network is None


def _collect(client: AsyncClient, url: str, until: str, publish=None, timeout: float = 5):
    """Open the stream as a page does, optionally publish once it is open, read until `until`."""

    pending = [publish] if publish else []

    async def run() -> str:
        response = await client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        assert response["Cache-Control"] == "no-cache"
        received = ""
        stream = response.streaming_content.__aiter__()
        deadline = time.monotonic() + timeout
        while until not in received and time.monotonic() < deadline:
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), deadline - time.monotonic())
            except TimeoutError:
                break  # nothing more within the time: the caller judges what came
            received += chunk.decode() if isinstance(chunk, bytes) else chunk
            if pending and HELLO in received:
                await asyncio.to_thread(pending.pop())
        await stream.aclose()
        return received

    # In a thread of its own: a browser test earlier in the run leaves Playwright's loop running in
    # this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_the_stream_says_hello_then_forwards_changes(transactional_db, viewer, test_host):
    client = AsyncClient()
    client.force_login(viewer)
    received = _collect(
        client,
        reverse("live-events"),
        until="event: change",
        publish=lambda: live.send(test_host.pk, [3], [4]),
    )
    assert received.startswith("retry: 2000\nevent: hello\n")
    change = received.split("event: change\ndata: ", 1)[1].split("\n\n", 1)[0]
    assert json.loads(change) == {
        "host": test_host.pk,
        "networks": [3],
        "jobs": [4],
        "jobs_only": False,
    }


def test_a_user_without_a_role_hears_of_no_host(transactional_db, outsider, test_host):
    client = AsyncClient()
    client.force_login(outsider)

    def publish_twice() -> None:
        live.send(test_host.pk, [3])
        time.sleep(0.3)

    received = _collect(
        client, reverse("live-events"), until="never", publish=publish_twice, timeout=1
    )
    assert "event: hello" in received
    assert "event: change" not in received


def test_the_stream_says_so_when_redis_is_down(transactional_db, viewer, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    client = AsyncClient()
    client.force_login(viewer)
    received = _collect(client, reverse("live-events"), until="event: unavailable")
    assert received.startswith("retry: 5000\nevent: unavailable\n")


def test_an_anonymous_stream_is_sent_to_the_login(db):
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, AsyncClient().get(reverse("live-events"))).result()
    assert result.status_code == 302
    assert "/accounts/login/" in result["Location"]


def test_pages_mark_their_live_parts(test_host, make_network, viewer, client_as):
    network = make_network(test_host, "net1")
    client = client_as(viewer)
    page = client.get(reverse("network-list")).content.decode()
    assert f'data-live-events="{live.EVENTS_PATH}"' in page
    assert 'id="net-table" data-live="/networks/" data-live-hosts="*"' in page
    page = client.get(network.get_absolute_url()).content.decode()
    assert f'data-live-networks="{network.pk}"' in page
    page = client.get(reverse("host-detail", args=[test_host.name])).content.decode()
    assert f'data-live-hosts="{test_host.pk}"' in page
    assert "vnetweb/live.js" in page


def test_a_live_refresh_gets_only_its_part(test_host, make_network, viewer, client_as):
    make_network(test_host, "net1", last_seen=timezone.now())
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_X_LIVE_REFRESH": "1"}
    response = client_as(viewer).get(reverse("network-list") + "?sort=-name", **headers)
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="net-table" data-live="/networks/?sort=-name"')
    assert "<html" not in content
    # The page's URL answers the page or its part by HX-Request: a cache must tell them apart.
    assert response["Vary"].startswith("HX-Request")


def test_the_rows_endpoint_returns_only_visible_rows(
    test_host, make_network, viewer, outsider, client_as
):
    one, two = make_network(test_host, "one"), make_network(test_host, "two")
    url = reverse("network-rows") + f"?id={one.pk}&id={two.pk}&id=x"
    content = client_as(viewer).get(url).content.decode()
    assert content.count("<tr id=") == 2
    assert 'href="/hosts/testdrv/"' in content  # the list's host column
    assert client_as(outsider).get(url).content.decode().count("<tr id=") == 0
    # A host page's rows: no host column; its outsider is not told the host exists.
    url = reverse("host-network-rows", args=["testdrv"]) + f"?id={one.pk}&id={two.pk}&id=x"
    content = client_as(viewer).get(url).content.decode()
    assert content.count("<tr id=") == 2
    assert 'href="/hosts/testdrv/"' not in content
    assert client_as(outsider).get(url).status_code == 404


def test_a_network_deleted_in_the_admin_reaches_open_pages(
    transactional_db, test_host, make_network, listener
):
    network = make_network(test_host, "gone-soon")
    client = Client()
    client.force_login(User.objects.create_superuser("vnwt-root", password="pw-vnwt-root-1"))
    url = reverse("admin:networks_network_delete", args=[network.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Network.objects.filter(pk=network.pk).exists()
    assert listener.settle() == [
        {"host": test_host.pk, "networks": [network.pk], "jobs": [], "jobs_only": False}
    ]


def test_a_network_page_stream_says_someone_looks_at_that_network(
    transactional_db, viewer, test_host
):
    # Ids no network of another test has: browser tests' pages say they watch theirs too.
    looked_at, other, third = 10**9 + 42, 10**9 + 41, 10**9 + 43
    assert live.watched([other, looked_at]) == set()
    client = AsyncClient()
    client.force_login(viewer)
    received = _collect(
        client,
        reverse("live-events") + f"?watch={looked_at},x,{third}",
        until="event: change",
        publish=lambda: live.send(test_host.pk, [looked_at]),
    )
    assert "event: change" in received
    # Said when the stream opened, and valid well past the keep-alive, when it is said again.
    assert live.watched([other, looked_at, third]) == {looked_at, third}
    keys = [live._watch_key(looked_at), live._watch_key(third)]
    client_redis = redis.Redis.from_url(settings.REDIS_URL)
    assert live.KEEPALIVE_SECONDS < client_redis.ttl(keys[0]) <= live.WATCH_SECONDS
    client_redis.delete(*keys)


def test_a_change_of_one_topic_says_so(transactional_db, test_host, listener):
    live.publish(test_host.pk, networks=[5], topic="switch")
    live.publish(test_host.pk, networks=[5])
    first, second = listener.settle()
    assert first == {
        "host": test_host.pk,
        "networks": [5],
        "jobs": [],
        "jobs_only": False,
        "topic": "switch",
    }
    assert "topic" not in second


def test_without_redis_nobody_is_watched(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    live.watch([7])  # says nothing, fails nothing
    assert live.watched([7]) == set()


def _hold(client: AsyncClient, url: str, action, timeout: float = 5) -> tuple[str, bool]:
    """Open a stream, run `action` once it said hello, read until it ends or `timeout` passes:
    what came, and whether the server ended the stream."""

    async def run() -> tuple[str, bool]:
        response = await client.get(url)
        assert response.status_code == 200
        stream = response.streaming_content.__aiter__()
        received, ended, acted = "", False, False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), deadline - time.monotonic())
            except TimeoutError:
                break
            except StopAsyncIteration:
                ended = True
                break
            received += chunk.decode() if isinstance(chunk, bytes) else chunk
            if not acted and HELLO in received:
                acted = True
                await asyncio.to_thread(action)
        await stream.aclose()
        return received, ended

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


@pytest.fixture
def quick_streams(monkeypatch):
    """Streams that look again at their user every 0.2 s and wait for messages 0.3 s at most."""
    from networks.views.live import Visible

    monkeypatch.setattr(Visible, "REFRESH", 0.2)
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.3)


def test_a_deactivated_user_s_open_stream_ends(transactional_db, viewer, quick_streams):
    client = AsyncClient()
    client.force_login(viewer)

    def deactivate() -> None:
        User.objects.filter(pk=viewer.pk).update(is_active=False)

    received, ended = _hold(client, reverse("live-events"), deactivate)
    assert ended and received.startswith(HELLO)


def test_a_logged_out_user_s_open_stream_ends(transactional_db, viewer, quick_streams):
    from django.contrib.sessions.models import Session

    client = AsyncClient()
    client.force_login(viewer)
    received, ended = _hold(client, reverse("live-events"), Session.objects.all().delete)
    assert ended and received.startswith(HELLO)


def test_a_stream_goes_on_while_its_user_may_see(transactional_db, viewer, quick_streams):
    client = AsyncClient()
    client.force_login(viewer)
    received, ended = _hold(client, reverse("live-events"), lambda: None, timeout=1.5)
    assert not ended and KEEPALIVE in received  # looked again at its user several times


def test_a_user_holds_only_so_many_streams_and_the_next_is_refused_in_words(
    transactional_db, viewer, settings
):
    settings.VNETWEB_LIVE_STREAMS_PER_USER = 2
    redis.Redis.from_url(settings.REDIS_URL).delete(live._streams_key(viewer.pk))
    client = AsyncClient()
    client.force_login(viewer)
    url = reverse("live-events")

    places = redis.Redis.from_url(settings.REDIS_URL)

    async def open_one() -> asyncio.Task:
        """A page's stream, read on until the page goes away (the task is cancelled, as Django's
        ASGI handler cancels a stream whose client disconnected)."""
        response = await client.get(url)
        assert response.status_code == 200
        stream = response.streaming_content.__aiter__()
        assert HELLO in (await stream.__anext__()).decode()

        async def read_on() -> None:
            async for _chunk in stream:
                pass

        return asyncio.create_task(read_on())

    async def close(page: asyncio.Task) -> None:
        page.cancel()
        await asyncio.gather(page, return_exceptions=True)

    async def run() -> None:
        opened = [await open_one(), await open_one()]
        refused = await client.get(url)
        assert refused.status_code == 429
        assert refused.content == b"Too many live pages open: at most 2 for one user. " + (
            b"Close some, then reload.\n"
        )
        await close(opened.pop())  # a page closed: its place is given back
        opened.append(await open_one())
        for page in opened:
            await close(page)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
    assert places.zcard(live._streams_key(viewer.pk)) == 0


def test_the_place_of_a_stream_whose_process_died_is_given_back(db, settings):
    settings.VNETWEB_LIVE_STREAMS_PER_USER = 1
    key = live._streams_key(10**9)
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(key)
    assert live.open_stream(10**9)  # never closed: its process died
    assert live.open_stream(10**9) is None
    client.zadd(key, {m: 0 for m in client.zrange(key, 0, -1)})  # its last renewal ran out
    assert live.open_stream(10**9)
    client.delete(key)


def test_a_stream_says_someone_looks_only_at_networks_its_user_sees(
    transactional_db, outsider, test_host, make_network
):
    from networks.models import Grant

    lab, prod = make_network(test_host, "lab-1"), make_network(test_host, "prod-1")
    Grant.objects.create(user=outsider, role="viewer", host=test_host, networks="lab-*")
    redis.Redis.from_url(settings.REDIS_URL).delete(*(live._watch_key(n.pk) for n in (lab, prod)))
    client = AsyncClient()
    client.force_login(outsider)
    _collect(client, reverse("live-events") + f"?watch={lab.pk},{prod.pk}", until=HELLO)
    assert live.watched([lab.pk, prod.pk]) == {lab.pk}
    redis.Redis.from_url(settings.REDIS_URL).delete(live._watch_key(lab.pk))


def test_the_live_script_leaves_the_requests_to_htmx():
    # htmx sends its own request headers (HX-Request, HX-Target, HX-Current-URL) and handles
    # HX-Redirect: the script only decides what to fetch, and asks htmx.ajax to.
    scripts = Path(__file__).resolve().parent.parent / "static/vnetweb"
    assert "htmx.ajax(" in (scripts / "live.js").read_text()
    for script in scripts.glob("*.js"):
        text = script.read_text()
        assert '"HX-' not in text, script.name  # no header of htmx's is written, nor read
        assert "fetch(" not in text, script.name


def test_open_streams_share_one_redis_subscription_per_process(
    transactional_db, viewer, test_host, settings
):
    """Twenty open pages in one web process: Redis sees one subscriber on the channel, and each
    stream hears the change."""
    settings.VNETWEB_LIVE_STREAMS_PER_USER = 25
    redis.Redis.from_url(settings.REDIS_URL).delete(live._streams_key(viewer.pk))
    client = AsyncClient()
    client.force_login(viewer)
    redis_conn = redis.Redis.from_url(settings.REDIS_URL)

    def subscribers() -> int:
        return dict(redis_conn.pubsub_numsub(live.channel()))[live.channel().encode()]

    before = subscribers()

    async def run() -> tuple[int, list[str]]:
        responses = [await client.get(reverse("live-events")) for _ in range(20)]
        streams = [response.streaming_content.__aiter__() for response in responses]
        received = [(await stream.__anext__()).decode() for stream in streams]  # hello
        held = await asyncio.to_thread(subscribers)
        await asyncio.to_thread(live.send, test_host.pk, [7])
        for index, stream in enumerate(streams):
            while "event: change" not in received[index]:
                chunk = await asyncio.wait_for(stream.__anext__(), 5)
                received[index] += chunk.decode() if isinstance(chunk, bytes) else chunk
            await stream.aclose()
        return held, received

    with ThreadPoolExecutor(1) as pool:
        held, received = pool.submit(asyncio.run, run()).result()
    assert held - before == 1
    assert all('"networks": [7]' in text for text in received)


def test_a_process_holds_a_bounded_number_of_redis_connections(viewer):
    """Fifty streams opening at once (each counts its place in Redis from a thread) share the
    process's few connections: the rest wait their turn instead of opening more."""
    from networks.redis_client import POOL_SIZE

    server = redis.Redis.from_url(settings.REDIS_URL)
    before = len(server.client_list())
    with ThreadPoolExecutor(50) as pool:
        places = list(pool.map(lambda _: live.open_stream(viewer.pk), range(50)))
    try:
        opened = len(server.client_list()) - before
        assert opened <= POOL_SIZE + 2, f"{opened} connections for 50 streams"  # +2: others' use
        assert all(place is not None for place in places[: settings.VNETWEB_LIVE_STREAMS_PER_USER])
    finally:
        for place in places:
            if place:
                live.close_stream(viewer.pk, place)
