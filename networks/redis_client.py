"""The one way vnetweb talks to Redis outside Celery: the live channel, stream counts, workers'
announcements. Short timeouts: the web asks during a request, which an unreachable Redis must not
hang. Celery's broker connection is Celery's own (settings.CELERY_BROKER_URL).
"""

from functools import cache

import redis
import redis.asyncio
from django.conf import settings

# Errors that mean "Redis is away" (a refused or dropped connection raises OSError subclasses too).
REDIS_DOWN = (redis.RedisError, OSError)


# Connections one process keeps to Redis (besides its live subscription and Celery's own): a
# caller beyond them waits up to POOL_WAIT seconds for one to be free. Without a bound, 200 pages
# opening their streams at once left a web process holding 50 idle connections (bench/fleet.py).
POOL_SIZE = 8
POOL_WAIT = 2


@cache
def _client(url: str) -> redis.Redis:
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT,
        socket_timeout=1,
        socket_connect_timeout=1,
    )
    return redis.Redis(connection_pool=pool)


def client() -> redis.Redis:
    """This process's client (a connection pool) for settings.REDIS_URL."""
    return _client(settings.REDIS_URL)


def subscriber() -> redis.Redis:
    """A client of its own for one blocking subscription: no read timeout, since a quiet channel
    is waited on for up to live.KEEPALIVE_SECONDS at a time."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)


def async_subscriber() -> redis.asyncio.Redis:
    """The same for an async view (the live stream under uvicorn)."""
    return redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)


def db_number() -> int:
    """The database number of settings.REDIS_URL (0 unless the URL names one)."""
    return redis.connection.parse_url(settings.REDIS_URL).get("db", 0)
