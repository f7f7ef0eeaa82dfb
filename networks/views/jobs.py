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
    return render_live(
        request, "jobs/list.html", "jobs/_list_live.html", {"jobs": jobs}, "jobs-live"
    )


def job_redirect_target(job: Job) -> str | None:
    """Where a finished define job leads: the new network's page, or the host's topology when the
    switch was drawn there."""
    if job.operation == Op.DEFINE and job.params.get("return_to"):
        return reverse("host-topology", args=[job.host.name])
    if job.operation == Op.DEFINE and job.target:
        return reverse("network-detail", args=[job.host.name, job.target])
    return None


@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(permissions.visible_jobs(request.user).select_related("host"), pk=pk)
    leads_to = job_redirect_target(job) if job.state == job.State.SUCCEEDED else None
    if request.htmx and leads_to:
        # A new switch exists now: take the person who made it to its page.
        return HttpResponseClientRedirect(leads_to)
    context = {"job": job, "leads_to": leads_to}
    if request.htmx and request.htmx.target == "job-followed":
        return render(request, "jobs/_followed.html", context)
    return render_live(request, "jobs/detail.html", "jobs/_status.html", context, "job-status")
