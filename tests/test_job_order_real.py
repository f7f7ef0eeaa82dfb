"""Through a real Celery worker (prefork, two processes here, as deployed) over the real Redis on
the real host: jobs on one switch asked at once run one at a time, in the order asked, even when
two worker processes take them at the same moment."""

from itertools import pairwise

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from networks.jobs import create_job
from networks.models import Job, Network
from networks.operations import Op
from networks.worker.tasks import refresh
from tests.real import wait_for
from tests.test_gateway_real import virsh_state

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.postgres]


def test_three_jobs_on_one_switch_asked_at_once_run_in_the_order_asked(
    real_host, libvirt_network, celery_worker_process
):
    net = libvirt_network(start=True)
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    user = User.objects.create_user("vnwt-order-user")
    celery_worker_process(real_host.name, pool="prefork")

    with transaction.atomic():  # the three messages leave together, at commit
        asked = [
            create_job(user, real_host, operation, network=network)
            for operation in (Op.RESTART, Op.STOP, Op.START)
        ]
    ids = [job.pk for job in asked]
    wait_for(
        lambda: all(job.is_finished for job in Job.objects.filter(pk__in=ids)),
        timeout=60,
        message="the worker did not finish the three jobs (see var/test-worker-1.log)",
    )

    done = list(Job.objects.filter(pk__in=ids).order_by("started"))
    assert [job.pk for job in done] == ids, "started in the order asked"
    assert all(job.state == Job.State.SUCCEEDED for job in done), [j.message for j in done]
    for earlier, later in pairwise(done):
        assert earlier.finished <= later.started, "one at a time: each began after the last ended"
    assert [job.message for job in done] == [
        f"Restarted {net.name}.",
        f"Stopped {net.name}.",
        f"Started {net.name}.",
    ]
    assert virsh_state(net.name)[0] == "active"
