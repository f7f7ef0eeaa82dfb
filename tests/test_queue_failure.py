"""When the broker cannot take a job, the job says so in words instead of staying queued."""

from celery import current_app
from kombu.exceptions import OperationalError

from networks.jobs import create_job
from networks.models import Job
from networks.operations import Op


def test_a_job_that_cannot_be_queued_fails_with_a_message(
    operator, test_host, make_network, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*_args, **_kwargs):
        # What kombu raises when Redis is down, after the publish retries.
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(current_app._get_current_object(), "send_task", refuse)
    network = make_network(test_host, "net1")
    with django_capture_on_commit_callbacks(execute=True):
        job = create_job(operator, test_host, Op.START, network=network)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "could not be queued" in job.message
    assert "Connection refused" in job.message
    assert job.finished is not None
