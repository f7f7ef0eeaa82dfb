"""`/healthz/`: whether this web process can serve pages (used by docker-compose and tests)."""

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    # Only the database: pages read nothing else. Redis or libvirt being down is shown in words on
    # the pages and must not make an orchestrator restart a web process that can still answer.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return HttpResponse(f"database unavailable: {exc}\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
