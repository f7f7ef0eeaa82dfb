"""The web server reads no more of a request's body than VNETWEB_MAX_REQUEST_BYTES: anyone, logged
in or not, may send one, so a longer body is refused (413) before it fills the process's memory.

Against the real ASGI application (vnetweb/asgi.py), through httpx and through uvicorn itself.
"""

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from django.conf import settings

from networks.live import EVENTS_PATH
from vnetweb import asgi
from vnetweb.asgi import application

LIMIT = 10_000


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.VNETWEB_MAX_REQUEST_BYTES = LIMIT


def run(coroutine):
    # In a thread of its own: a browser test earlier in the run leaves Playwright's loop running.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def post(path: str, content) -> httpx.Response:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return await client.post(path, content=content)


def test_a_body_within_the_limit_reaches_django(db):
    # A form posted without its CSRF cookie: Django's own refusal shows the body got through.
    response = run(post("/accounts/login/", b"x" * LIMIT))
    assert response.status_code == 403
    assert "CSRF" in response.text


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read():
    received = []

    async def receive():
        received.append(1)
        return {"type": "http.request", "body": b"x" * 100, "more_body": True}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/accounts/login/",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"content-length", str(LIMIT + 1).encode())],
    }
    run(application(scope, receive, send))
    assert received == []
    assert sent[0]["status"] == 413
    assert sent[1]["body"] == f"Request body too large: at most {LIMIT} bytes.\n".encode()


@pytest.mark.parametrize("path", ["/accounts/login/", EVENTS_PATH])
def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit(path):
    produced = []

    async def endless():
        while len(produced) < 10_000:  # 10 MB, if nothing stopped reading
            produced.append(1)
            yield b"x" * 1000

    response = run(post(path, endless()))
    assert response.status_code == 413
    assert "too large" in response.text
    assert len(produced) <= LIMIT // 1000 + 2


def test_uvicorn_answers_a_huge_declared_body_with_413_at_once():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(
                b"POST /accounts/login/ HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000000000\r\n\r\nusername=a"
            )
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413 ")
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_pages_run_on_the_configured_threads_and_the_stream_on_none():
    # Pages are CPU-bound: VNETWEB_WEB_THREADS threads a process (settings.py reads it).
    assert asgi.wsgi_pages.executor._max_workers == settings.VNETWEB_WEB_THREADS
    # The live stream is Django's async view: it is not queued behind the pages' threads.
    assert asgi.streams is not asgi.pages


@pytest.mark.django_db(transaction=True)
def test_jobs_waited_for_through_the_api_hold_none_of_the_pages_threads(
    test_host, make_network, viewer
):
    from networks.models import Job
    from tests.test_api_networks import bearer

    network = make_network(test_host, "lab-1")
    job = Job.objects.create(
        username="x", host=test_host, network=network, target="lab-1", operation="start"
    )
    auth = {"Authorization": bearer(viewer)["HTTP_AUTHORIZATION"]}
    waits = settings.VNETWEB_WEB_THREADS + 2

    async def scenario():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            waiting = [
                asyncio.create_task(client.get(f"/api/v1/jobs/{job.pk}/?wait=2", headers=auth))
                for _ in range(waits)
            ]
            await asyncio.sleep(0.5)
            started = time.monotonic()
            health = await client.get("/healthz/")
            took = time.monotonic() - started
            answers = await asyncio.gather(*waiting)
        return health, took, answers

    health, took, answers = run(scenario())
    assert health.status_code == 200
    assert took < 1.0  # not queued behind the waits
    assert [a.json()["state"] for a in answers] == ["queued"] * waits
