"""API tokens: made, checked, revoked; and the brake on guessing them.

A key is `vnw_` and 43 random URL-safe characters (256 bits). Only its SHA-256 is stored, so a
copy of the database gives no key; it is shown once, when made. A request names it as
`Authorization: Bearer <key>` (networks.api.auth). Too many wrong keys from one address within
VNETWEB_API_FAILURE_MINUTES are refused without looking (429) until the window ends; the count
lives in Redis so that every web process shares it.
"""

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from networks import audit, redis_client
from networks.models import ApiToken

PREFIX = "vnw_"
# A used token's last_used is written at most this often (not a write per request).
TOUCH_EVERY = timedelta(minutes=1)

log = logging.getLogger(__name__)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TokenNameTaken(ValueError):
    pass


def issue(
    user, name: str, *, read_only: bool = False, expires: datetime | None = None, by=None
) -> tuple[ApiToken, str]:
    """A new token of `user` and its key (to show once). `by`: who made it (the user itself,
    or an admin), for the audit trail. TokenNameTaken if the user has one of that name."""
    key = PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name,
                digest=digest(key),
                prefix=key[: len(PREFIX) + 4],
                read_only=read_only,
                expires=expires,
            )
            audit.record(by or user, "token-add", message=_described(token))
    except IntegrityError:
        raise TokenNameTaken(f"{user.get_username()} already has a token named {name!r}.") from None
    return token, key


def revoke(token: ApiToken, by) -> None:
    with transaction.atomic():
        audit.record(by, "token-revoke", message=_described(token))
        token.delete()


def _described(token: ApiToken) -> str:
    flags = ["read-only" if token.read_only else "read-write"]
    if token.expires:
        flags.append(f"expires {token.expires:%Y-%m-%d %H:%M} UTC")
    return f"{token.user.get_username()}: {token.name} ({', '.join(flags)})"


def authenticate(key: str) -> ApiToken | None:
    """The token this key is, if it is one that may be used now (not expired, its user active)."""
    if not key.startswith(PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest(key), user__is_active=True)
        .first()
    )
    if token is None or token.expired:
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
    return token


# --- the brake -----------------------------------------------------------------------------------


def _key(address: str | None) -> str:
    return f"vnetweb:api-failures:{address or 'unknown'}"


def failures_exceeded(address: str | None) -> bool:
    """Whether `address` has given too many wrong keys lately (False when Redis is away: the key
    is still checked, only the brake is off)."""
    try:
        count = redis_client.client().get(_key(address))
    except redis_client.REDIS_DOWN:
        return False
    return count is not None and int(count) >= settings.VNETWEB_API_FAILURE_LIMIT


def failed(address: str | None) -> None:
    """Count a wrong key from `address`; the count ends with its window."""
    window = settings.VNETWEB_API_FAILURE_MINUTES * 60
    try:
        with redis_client.client().pipeline() as pipe:
            pipe.incr(_key(address)).expire(_key(address), window, nx=True).execute()
    except redis_client.REDIS_DOWN as exc:
        log.warning("could not count a failed API token from %s: %s", address, exc)


def retry_after() -> int:
    return settings.VNETWEB_API_FAILURE_MINUTES * 60


class TooManyFailures(Exception):
    """The address sent too many wrong keys lately: answer 429, and do not look at this one."""

    def __init__(self) -> None:
        minutes = retry_after() // 60
        super().__init__(
            f"Too many wrong tokens from this address; try again in {minutes} minutes."
        )


def check(key: str, address: str | None) -> ApiToken | None:
    """The token this key is (None: a wrong key, counted against `address`), behind the brake:
    TooManyFailures once the address has given too many wrong keys. The API's auth and /metrics
    both ask this, so that a guess counts the same wherever it is tried."""
    if failures_exceeded(address):
        raise TooManyFailures()
    token = authenticate(key)
    if token is None:
        failed(address)
    return token
