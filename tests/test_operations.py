"""The registry of operations: one declaration per verb, read by the model, views, buttons and
the worker; and how the web side creates and queues a job."""

import pytest
from celery import current_app
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.module_loading import import_string

from networks import operations, permissions
from networks.jobs import RUN_JOB, create_job
from networks.models import Job
from networks.operations import Op
from networks.permissions import Role

HTMX = {"HTTP_HX_REQUEST": "true"}


def slugs(network, user) -> list[str]:
    return [op.slug for op in permissions.buttons(network, user)]


# --- the registry ------------------------------------------------------------------------------


def test_the_values_stored_in_jobs_are_the_ones_older_rows_hold():
    keys = set(operations.REGISTRY)
    assert {"start", "stop", "autostart_on", "autostart_off", "probe"} <= keys
    assert {"define", "update", "undefine", "restart"} <= keys


def test_the_job_models_choices_and_labels_come_from_the_registry(test_host):
    field = Job._meta.get_field("operation")
    assert list(field.choices) == operations.choices()
    job = Job(host=test_host, operation="restart")
    assert job.get_operation_display() == "Restart"
    assert Job(host=test_host, operation="autostart_on").get_operation_display() == "Autostart on"


def test_job_operation_is_only_a_spelling_of_the_registrys_keys():
    assert Op.START == "start"
    assert Op.AUTOSTART_OFF == "autostart_off"
    assert Op.UNDEFINE == "undefine"
    with pytest.raises(AttributeError):
        Op.REBOOT  # noqa: B018


@pytest.mark.parametrize("op", operations.OPERATIONS, ids=lambda op: op.key)
def test_every_operation_names_a_worker_function_that_exists(op):
    assert callable(import_string(op.runner))


def test_the_roles_the_operations_ask_for():
    roles = {op.key: op.role for op in operations.OPERATIONS}
    assert roles["define"] == roles["undefine"] == Role.ADMIN
    assert roles["start"] == roles["stop"] == roles["restart"] == Role.OPERATOR
    assert roles["update"] == Role.OPERATOR  # the editor asks for admin beyond live changes


def test_a_view_may_ask_more_than_the_operations_own_role(operator, admin):
    update = operations.get("update")
    permissions.require(operator, update)
    with pytest.raises(PermissionDenied):
        permissions.require(operator, update, role=Role.ADMIN)
    permissions.require(admin, update, role=Role.ADMIN)


def test_an_unknown_operation_is_not_in_the_registry():
    assert operations.by_slug("reboot") is None
    with pytest.raises(KeyError):
        operations.get("reboot")


# --- buttons -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"active": False, "autostart": False}, ["start", "autostart-on"]),
        ({"active": True, "autostart": False}, ["stop", "restart", "autostart-on"]),
        ({"active": True, "autostart": True}, ["stop", "restart", "autostart-off"]),
        # A transient network has no saved definition: no restart, no autostart.
        ({"active": True, "persistent": False}, ["stop"]),
    ],
)
def test_an_operator_gets_the_buttons_that_make_sense_now(
    test_host, make_network, operator, state, expected
):
    assert slugs(make_network(test_host, **state), operator) == expected


def test_an_admin_gets_the_operators_buttons(test_host, make_network, admin):
    assert slugs(make_network(test_host, active=True), admin) == ["stop", "restart", "autostart-on"]


@pytest.mark.parametrize("who", ["viewer", "outsider"])
def test_who_may_not_operate_gets_no_buttons(test_host, make_network, request, who):
    assert slugs(make_network(test_host, active=True), request.getfixturevalue(who)) == []


def test_the_restart_button_asks_before_it_sends(test_host, make_network, operator, client_as):
    network = make_network(test_host, "lab", active=True)
    page = client_as(operator).get(network.get_absolute_url()).content.decode()
    assert 'data-action="restart"' in page
    assert 'hx-confirm="Restart lab? Its guests lose the network for a moment."' in page
    assert 'data-action="start"' not in page


def test_a_viewer_sees_no_restart_button(test_host, make_network, viewer, client_as):
    network = make_network(test_host, "lab", active=True)
    assert "data-action" not in client_as(viewer).get(network.get_absolute_url()).content.decode()


# --- the action view ---------------------------------------------------------------------------


def action_url(network, action: str) -> str:
    return reverse("network-action", args=[network.host.name, network.name, action])


def test_an_operator_restarts_a_running_network(test_host, make_network, operator, client_as):
    network = make_network(test_host, "lab", active=True)
    response = client_as(operator).post(action_url(network, "restart"), **HTMX)
    assert response.status_code == 200
    job = Job.objects.get()
    assert (job.operation, job.network, job.target) == ("restart", network, "lab")
    assert job.get_operation_display() in response.content.decode()


def test_a_viewer_cannot_restart(test_host, make_network, viewer, client_as):
    network = make_network(test_host, "lab", active=True)
    assert client_as(viewer).post(action_url(network, "restart")).status_code == 403
    assert not Job.objects.exists()


@pytest.mark.parametrize("action", ["define", "update", "undefine", "probe", "autostart_on"])
def test_verbs_with_pages_of_their_own_are_no_button_actions(
    test_host, make_network, admin, client_as, action
):
    network = make_network(test_host, "lab")
    assert client_as(admin).post(action_url(network, action)).status_code == 400
    assert not Job.objects.exists()


# --- creating and queueing jobs ----------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    calls: list[dict] = []

    def send_task(name, args=None, kwargs=None, **options):
        calls.append({"name": name, "args": args, **options})

    monkeypatch.setattr(current_app._get_current_object(), "send_task", send_task)
    return calls


def test_a_job_is_sent_by_task_name_on_its_hosts_queue_once_the_request_commits(
    test_host, make_network, operator, sent, django_capture_on_commit_callbacks
):
    network = make_network(test_host, "lab")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = create_job(operator, test_host, "start", network=network)
        assert sent == [], "nothing is sent before the commit"
    # Two things wait for the commit: sending the task, and telling open pages (networks.live).
    assert len(callbacks) == 2
    assert sent == [{"name": RUN_JOB, "args": [job.pk], "queue": "host.testdrv"}]
    assert RUN_JOB == "networks.tasks.run_job"


def test_a_jobs_target_is_its_networks_name_unless_given(test_host, make_network, admin):
    network = make_network(test_host, "lab")
    assert create_job(admin, test_host, "undefine", network=network).target == "lab"
    created = create_job(admin, test_host, "define", target="new", params={"xml": "<network/>"})
    assert (created.target, created.network, created.params) == ("new", None, {"xml": "<network/>"})
    assert create_job(admin, test_host, "probe").target == ""


def test_creating_a_job_for_an_unknown_operation_fails_before_writing(test_host, admin):
    with pytest.raises(KeyError):
        create_job(admin, test_host, "reboot")
    assert not Job.objects.exists()
