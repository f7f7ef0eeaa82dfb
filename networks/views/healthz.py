"""`/healthz/`: whether this web process can serve pages (used by docker-compose and tests)."""

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    # Only the database: pages read nothing else. Redis or libvirt being down is shown in words on
    # the pages and must not make an orchestrator restart a web process that can still answer.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        # Anyone may ask: the database's own words (host names, users) go only to the log.
        log.exception("/healthz/: the database did not answer")
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
