from django.urls import path, register_converter
from django.views.generic import RedirectView

from networks.live import EVENTS_PATH
from networks.views import (
    audit,
    forwards,
    guest_nics,
    guests,
    healthz,
    hosts,
    jobs,
    lease_export,
    lease_pin,
    lease_search,
    leases,
    live,
    metrics,
    networks,
    switch_delete,
    switch_edit,
    switch_new,
    switch_status,
    switch_xml,
    tokens,
    topology,
    users,
)


class FragmentConverter:
    """After an action, the fragment its htmx button swaps: the list's row, the host page's row
    (no host column) or the network page's panel (networks.views.networks.FRAGMENTS)."""

    regex = "row|host-row|panel"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FragmentConverter, "fragment")

# A network's page and its parts: each live part of a page has a URL of its own, which answers
# that part alone (static/vnetweb/live.js fetches it through htmx when the live channel says so).
NETWORK = "hosts/<slug:host>/networks/<str:name>/"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="network-list"), name="home"),
    path("healthz/", healthz.healthz, name="healthz"),
    path("networks/", networks.network_list, name="network-list"),
    path("networks/rows/", networks.network_rows, name="network-rows"),
    path("networks/new/", switch_new.switch_new, name="switch-new"),
    path(EVENTS_PATH.lstrip("/"), live.events, name="live-events"),
    path("hosts/", hosts.host_list, name="host-list"),
    path("hosts/add/", hosts.host_add, name="host-add"),
    path("hosts/<slug:name>/", hosts.host_detail, name="host-detail"),
    path("hosts/<slug:name>/edit/", hosts.host_edit, name="host-edit"),
    path("hosts/<slug:name>/delete/", hosts.host_delete, name="host-delete"),
    path("hosts/<slug:name>/probe/", hosts.host_probe, name="host-probe"),
    path("hosts/<slug:name>/rows/", hosts.host_network_rows, name="host-network-rows"),
    path("hosts/<slug:host>/topology/", topology.host_topology, name="host-topology"),
    path(
        "hosts/<slug:host>/topology/part/",
        topology.host_topology_part,
        name="host-topology-part",
    ),
    path(
        "hosts/<slug:host>/topology/connect/",
        topology.topology_connect,
        name="host-topology-connect",
    ),
    path("hosts/<slug:host>/new-network/", switch_edit.switch_create, name="switch-create"),
    path("hosts/<slug:host>/networks/<str:name>/", networks.network_detail, name="network-detail"),
    # Before network-action, whose <action> would otherwise take these words.
    path(
        "hosts/<slug:host>/networks/<str:name>/edit/", switch_edit.switch_edit, name="switch-edit"
    ),
    path("hosts/<slug:host>/networks/<str:name>/xml/", switch_xml.switch_xml, name="switch-xml"),
    path(
        "hosts/<slug:host>/networks/<str:name>/delete/",
        switch_delete.switch_delete,
        name="switch-delete",
    ),
    path(NETWORK + "part/summary/", networks.network_summary, name="network-summary"),
    path(NETWORK + "part/more/", networks.network_more, name="network-more"),
    path(NETWORK + "part/panel/", networks.network_panel, name="network-panel"),
    path(NETWORK + "part/row/", networks.network_row, name="network-row"),
    path(NETWORK + "part/host-row/", networks.network_host_row, name="network-host-row"),
    path(
        "hosts/<slug:host>/networks/<str:name>/switch/",
        switch_status.network_switch,
        name="network-switch",
    ),
    path(
        "hosts/<slug:host>/networks/<str:name>/leases/",
        leases.network_leases,
        name="network-leases",
    ),
    path(
        "hosts/<slug:host>/networks/<str:name>/leases.csv",
        lease_export.network_leases_csv,
        name="network-leases-csv",
    ),
    path(
        "hosts/<slug:host>/networks/<str:name>/leases/pin/",
        lease_pin.lease_pin,
        name="lease-pin",
    ),
    path(NETWORK + "forwards/", forwards.network_forwards, name="network-forwards"),
    path(NETWORK + "forwards/add/", forwards.forward_add, name="forward-add"),
    path(
        NETWORK + "forwards/<int:forward>/remove/",
        forwards.forward_remove,
        name="forward-remove",
    ),
    path(NETWORK + "forwards/apply/", forwards.forwards_apply, name="forwards-apply"),
    path(
        "hosts/<slug:host>/networks/<str:name>/<str:action>/",
        networks.network_action,
        name="network-action",
    ),
    # The same action from an htmx button: it answers with the fragment named.
    path(
        NETWORK + "<str:action>/<fragment:fragment>/",
        networks.network_action,
        name="network-action-part",
    ),
    path("hosts/<slug:host>/guests/", guests.guest_list, name="guest-list"),
    path("hosts/<slug:host>/guests/<str:name>/", guests.guest_detail, name="guest-detail"),
    path(
        "hosts/<slug:host>/guests/<str:name>/nics/attach/",
        guest_nics.nic_attach,
        name="guest-nic-attach",
    ),
    path(
        "hosts/<slug:host>/guests/<str:name>/nics/<str:mac>/move/",
        guest_nics.nic_move,
        name="guest-nic-move",
    ),
    path(
        "hosts/<slug:host>/guests/<str:name>/nics/<str:mac>/detach/",
        guest_nics.nic_detach,
        name="guest-nic-detach",
    ),
    path(
        "hosts/<slug:host>/guests/<str:name>/nics/<str:mac>/link/",
        guest_nics.nic_link,
        name="guest-nic-link",
    ),
    path("leases/", lease_search.lease_search, name="lease-search"),
    path("jobs/", jobs.job_list, name="job-list"),
    path("audit/", audit.audit_list, name="audit-list"),
    path("audit.csv", audit.audit_csv, name="audit-csv"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job-detail"),
    path("jobs/<int:pk>/part/followed/", jobs.job_followed, name="job-followed"),
    path("users/", users.user_list, name="user-list"),
    path("users/add/", users.user_add, name="user-add"),
    path("users/<int:pk>/", users.user_detail, name="user-detail"),
    path("users/<int:pk>/active/", users.user_active, name="user-active"),
    path("users/<int:pk>/password/", users.user_password, name="user-password"),
    path("users/<int:pk>/role/", users.user_role, name="user-role"),
    path("users/<int:pk>/unlock/", users.user_unlock, name="user-unlock"),
    path("users/<int:pk>/grants/", users.grant_add, name="grant-add"),
    path("users/<int:pk>/grants/<int:grant>/revoke/", users.grant_delete, name="grant-delete"),
    path(
        "users/<int:pk>/tokens/<int:token>/revoke/",
        users.user_token_revoke,
        name="user-token-revoke",
    ),
    # Every logged-in user's own API tokens; /metrics for Prometheus (a token or an address).
    path("account/tokens/", tokens.token_list, name="token-list"),
    path("account/tokens/<int:token>/revoke/", tokens.token_revoke, name="token-revoke"),
    path("metrics", metrics.metrics, name="metrics"),
]
