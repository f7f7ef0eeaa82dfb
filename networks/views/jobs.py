from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from networks import permissions


@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = permissions.visible_jobs(request.user).select_related("host")[:100]
    return render(request, "jobs/list.html", {"jobs": jobs})


@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(permissions.visible_jobs(request.user).select_related("host"), pk=pk)
    template = "jobs/_status.html" if request.htmx else "jobs/detail.html"
    response = render(request, template, {"job": job})
    if request.htmx and job.is_finished:
        response.status_code = 286
    return response
