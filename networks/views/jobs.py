from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect

from networks import permissions
from networks.models import Job
from networks.operations import Op
from networks.views.live import render_live


@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = permissions.visible_jobs(request.user).select_related("host")[:100]
    return render_live(request, "jobs/list.html", "jobs/_list_live.html", {"jobs": jobs})


def job_redirect_target(job: Job) -> str | None:
    """Where a finished define job leads: the new network's page, or the host's topology when the
    switch was drawn there."""
    if job.operation == Op.DEFINE and job.params.get("return_to"):
        return reverse("host-topology", args=[job.host.name])
    if job.operation == Op.DEFINE and job.target:
        return reverse("network-detail", args=[job.host.name, job.target])
    return None


def _job(request: HttpRequest, pk: int) -> tuple[Job, str | None]:
    """The job, if the user sees it, and where it leads once it succeeded."""
    job = get_object_or_404(permissions.visible_jobs(request.user).select_related("host"), pk=pk)
    return job, job_redirect_target(job) if job.state == job.State.SUCCEEDED else None


@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job, leads_to = _job(request, pk)
    if request.htmx and leads_to:
        # A new switch exists now: take the person who made it to its page.
        return HttpResponseClientRedirect(leads_to)
    context = {"job": job, "leads_to": leads_to}
    return render_live(request, "jobs/detail.html", "jobs/_status.html", context)


@require_GET
def job_followed(request: HttpRequest, pk: int) -> HttpResponse:
    """The line a form shows about the job it queued (jobs/_followed.html), refreshed live."""
    job, leads_to = _job(request, pk)
    if request.htmx and leads_to:
        return HttpResponseClientRedirect(leads_to)
    return render(request, "jobs/_followed.html", {"job": job, "leads_to": leads_to})
