"""Jobs: every change is one. A change answers 202 with its job (`accepted`); the job tells its
state and, once ended, libvirt's message. `?wait=N` holds the answer up to N seconds (at most
VNETWEB_API_WAIT_MAX) until the job has ended, for a script that wants one call."""

import time
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from networks import operations, permissions
from networks.api.errors import responses
from networks.api.paging import Page, PageQuery, paged
from networks.models import Job

router = Router()
POLL_SECONDS = 0.25


class JobOut(Schema):
    id: int
    url: str  # this resource
    page: str  # the job's page in the browser
    operation: str  # networks.operations' key: start, define, nic_attach…
    label: str
    state: str  # queued, running, succeeded, failed
    message: str  # what the job waits for, or how it ended (libvirt's words)
    host: str
    network: str | None
    guest: str | None
    target: str
    user: str
    created: datetime
    started: datetime | None
    finished: datetime | None
    attempts: int


class WaitQuery(Schema):
    wait: float = Field(0, ge=0, le=3600, description="Seconds to wait for the job to end.")


def job_out(job: Job) -> dict:
    return {
        "id": job.pk,
        "url": reverse("api-v1:job", args=[job.pk]),
        "page": reverse("job-detail", args=[job.pk]),
        "operation": job.operation,
        "label": operations.get(job.operation).label,
        "state": job.state,
        "message": job.message,
        "host": job.host.name,
        "network": job.target if job.network_id else None,
        "guest": job.target if job.guest_id else None,
        "target": job.target,
        "user": job.username,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "attempts": job.attempts,
    }


def _visible_job(user, job_id: int) -> Job:
    return get_object_or_404(permissions.visible_jobs(user).select_related("host"), pk=job_id)


def waited(user, job_id: int, seconds: float) -> dict:
    """The job once it has ended, or as it is after `seconds` (capped) if it has not, looked at
    every POLL_SECONDS. A waited job is served by Django's ASGI handler (vnetweb.asgi), which
    gives each request a thread of its own: a waiting script holds none of the pages' threads.
    (An async view would hold no thread at all, but Django cannot run one in a thread whose
    event loop runs, as Playwright's does in the tests' main thread.)"""
    deadline = time.monotonic() + min(seconds, settings.VNETWEB_API_WAIT_MAX)
    while True:
        job = _visible_job(user, job_id)
        if job.is_finished or time.monotonic() >= deadline:
            return job_out(job)
        time.sleep(POLL_SECONDS)


def accepted(response: HttpResponse, job: Job, wait: float = 0) -> Status:
    """The answer to a change: 202 and the job, its URL as Location. With `?wait=N`, 303 See
    Other to the job with the same wait (`curl -L`, Python's requests follow it with a GET): the
    waiting is the job resource's, which holds none of the pages' threads (vnetweb.asgi)."""
    url = reverse("api-v1:job", args=[job.pk])
    if wait:
        response["Location"] = f"{url}?wait={wait:g}"
        return Status(303, None)
    response["Location"] = url
    return Status(202, job_out(job))


class JobFilter(PageQuery):
    state: Job.State | None = None
    host: str | None = Field(None, max_length=64)
    network: str | None = Field(None, max_length=255)


def _jobs(request: HttpRequest, filters: JobFilter) -> QuerySet[Job]:
    jobs = permissions.visible_jobs(request.user).select_related("host").order_by("-pk")
    if filters.state:
        jobs = jobs.filter(state=filters.state)
    if filters.host:
        jobs = jobs.filter(host__name=filters.host)
    if filters.network:
        jobs = jobs.filter(target=filters.network, network__isnull=False)
    return jobs


@router.get("", response=responses({200: Page[JobOut]}), url_name="jobs")
def job_list(request: HttpRequest, filters: Query[JobFilter]):
    """The jobs you see, newest first."""
    return paged(_jobs(request, filters), filters, lambda jobs: [job_out(j) for j in jobs])


@router.get("{int:job_id}/", response=responses({200: JobOut}), url_name="job")
def job_detail(request: HttpRequest, job_id: int, query: Query[WaitQuery]):
    """One job; with `?wait=N`, once it has ended or after N seconds (at most
    VNETWEB_API_WAIT_MAX), whichever comes first: `state` says which."""
    return waited(request.user, job_id, query.wait)
