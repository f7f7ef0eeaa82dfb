"""A host's topology in a real browser against the real NIC views (no worker: their jobs stay
queued, and a test plays the worker's part by writing what it would): dragging a guest onto a
switch and the keyboard's way of doing it (no mouse at all) ask for the NIC and draw it dashed
until the live drawing has it; a refusal is shown in words; zoom, pan and focus survive a live
refresh; a viewer's guests do not move.
"""

import re
from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from networks import live
from networks.models import Guest, Host, Job
from tests.browser import log_in
from tests.test_topology import make_guest, nic

pytestmark = [pytest.mark.browser]

ATTACH = re.compile(r"/nics/attach/$")
DASHED = (
    '.topo-overlay path.pending[data-guest="{0}"][data-network="{1}"], '
    'svg.topo g.nic.pending[data-guest="{0}"][data-network="{1}"]'
)


@pytest.fixture
def lab(test_host, make_network) -> Host:
    test_host.interfaces = [{"name": "eth0", "addresses": ["192.168.1.10/24"]}]
    test_host.routes = [{"dst": "0.0.0.0/0", "gateway": "192.168.1.1", "dev": "eth0"}]
    test_host.save()
    make_network(test_host, "lan", mode="nat", active=True)
    make_network(test_host, "quiet", mode="isolated", active=True, ipv4="10.9.0.1/24")
    make_guest(test_host, "web", nic("lan", "52:54:00:00:00:01"))
    make_guest(test_host, "spare vm", state="shut off")
    return test_host


def open_topology(browser, live_server, user, host: Host):
    page = log_in(browser, live_server.url, user.username, "pw-" + user.username)
    page.goto(live_server.url + reverse("host-topology", args=[host.name]))
    page.locator("#live-status.on").wait_for(timeout=10000)
    return page


def centre(page, selector: str) -> tuple[float, float]:
    """The middle of what `selector` draws. A live refresh may swap the drawing in just as it is
    measured (the box is then None): measured again, for up to 5 s, then a failure that says so."""
    locator = page.locator(selector)
    for _ in range(50):
        box = locator.bounding_box()
        if box is not None:
            return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} is not drawn on {page.url}")


def drag(page, source: str, target: str) -> None:
    x, y = centre(page, source)
    page.mouse.move(x, y)
    page.mouse.down()
    to_x, to_y = centre(page, target)
    page.mouse.move(to_x, to_y, steps=12)
    page.mouse.up()


def form_field(body: str, name: str) -> str:
    """A field of a form-encoded body (the page posts through htmx.ajax)."""
    return parse_qs(body).get(name, [None])[0]


MOUSE = ("mousedown", "mouseup", "mousemove", "pointerdown", "pointerup", "pointermove", "wheel")


def watch_the_mouse(page) -> None:
    """Note every mouse event the page gets from now on in window.vnwtMouse; a key's click on a
    button is a click too, but without a pointer type."""
    page.evaluate(
        """types => {
        window.vnwtMouse = [];
        types.forEach(t => document.addEventListener(t, () => window.vnwtMouse.push(t), true));
        document.addEventListener("click", e => {
            if (e.pointerType) window.vnwtMouse.push("click by " + e.pointerType);
        }, true);
    }""",
        list(MOUSE),
    )


def tab_to_the_drawing(page, most: int = 40) -> None:
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('svg.topo')"):
            return
    raise AssertionError("Tab never reached the drawing")


def focused(page) -> str | None:
    """The name of the drawing's node that has the focus: its <title>, as Chromium names it."""
    return page.evaluate(
        "(document.activeElement.querySelector(':scope > title') || {}).textContent || null"
    )


def transform(page) -> str:
    return page.locator(".topo-stage").evaluate("el => el.style.transform")


def test_dragging_a_guest_onto_a_switch_asks_for_the_nic_and_draws_it_dashed_until_it_is_there(
    live_server, browser, lab, operator
):
    page = open_topology(browser, live_server, operator, lab)
    csrf = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")

    guest, switch = 'g.guest[data-guest="spare vm"]', 'g.switch[data-switch="lan"]'
    page.mouse.move(*centre(page, guest))
    page.mouse.down()
    page.mouse.move(*centre(page, switch), steps=12)
    assert page.locator(".topo-overlay line.rubber").count() == 1  # the rubber band
    assert page.locator(f"{switch}.drop-target").count() == 1
    with page.expect_response(lambda r: ATTACH.search(r.url)) as answered:
        page.mouse.up()
    request = answered.value.request
    assert request.method == "POST"
    assert request.url == live_server.url + reverse("guest-nic-attach", args=[lab.name, "spare vm"])
    assert form_field(request.post_data, "network") == "lan"
    assert request.headers["hx-request"] == "true"
    assert request.headers["x-csrftoken"] == csrf
    assert answered.value.status == 202
    page.locator(DASHED.format("spare vm", "lan")).first.wait_for()
    assert "Attach NIC for spare vm: queued" in page.locator("#topo-status").inner_text()
    assert page.locator(".topo-overlay line.rubber").count() == 0

    # The job's own live message brings the drawing's dashed line, which takes over from ours.
    page.locator('svg.topo g.nic.pending[data-guest="spare vm"][data-network="lan"]').wait_for()
    assert page.locator(".topo-overlay .pending").count() == 0
    # The worker's part: the NIC is there and the job done; the line turns solid.
    job = Job.objects.get(guest__name="spare vm", operation="nic_attach")
    spare = Guest.objects.get(host=lab, name="spare vm")
    spare.nics = [nic("lan", "52:54:00:00:00:07")]
    spare.save()
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    live.send(lab.pk, jobs=[job.pk])
    page.locator('svg.topo g.nic.port[data-guest="spare vm"][data-network="lan"]').wait_for()
    assert page.locator("svg.topo g.nic.pending, .topo-overlay .pending").count() == 0
    page.context.close()


def test_the_keyboard_alone_connects_a_guest_and_disconnects_a_nic(
    live_server, browser, lab, operator
):
    page = open_topology(browser, live_server, operator, lab)
    watch_the_mouse(page)
    tab_to_the_drawing(page)
    # One tab stop for the whole drawing: its first switch, named with its state and addresses.
    assert (
        focused(page)
        == "Switch lan: NAT, active, 10.0.0.1/24, bridge br-lan, NAT via eth0, 1 guest"
    )
    assert page.locator('svg.topo [tabindex="0"]').count() == 1
    page.keyboard.press("Tab")
    assert page.evaluate("!document.activeElement.closest('svg.topo')")
    page.keyboard.press("Shift+Tab")
    assert focused(page).startswith("Switch lan:")
    # Reading order: lan, the guest under it, quiet, then the guest on no switch.
    page.keyboard.press("ArrowDown")
    assert focused(page) == ("Guest web: running; NIC 52:54:00:00:00:01 on lan")
    page.keyboard.press("ArrowRight")
    assert focused(page).startswith("Switch quiet: Isolated, active")
    page.keyboard.press("ArrowLeft")
    assert focused(page).startswith("Switch lan:")
    page.keyboard.press("End")
    assert focused(page) == "Guest spare vm: shut off, not connected to any switch; no NIC"
    assert page.locator('svg.topo [tabindex="0"]').count() == 1

    # Enter: its actions, its page first; then each switch to connect it to.
    page.keyboard.press("Enter")
    menu = page.locator(".topo-menu[role=dialog]")
    assert menu.locator("a, button").all_inner_texts() == [
        "Open the page of spare vm",
        "Connect to lan",
        "Connect to quiet",
        "Cancel",
    ]
    assert page.evaluate("document.activeElement.textContent") == "Open the page of spare vm"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    with page.expect_request(lambda r: "/nics/attach/" in r.url) as sent:
        page.keyboard.press("Enter")
    assert sent.value.url == live_server.url + reverse(
        "guest-nic-attach", args=[lab.name, "spare vm"]
    )
    assert form_field(sent.value.post_data, "network") == "quiet"
    assert form_field(sent.value.post_data, "version")  # checked against the drawing's
    assert menu.count() == 0
    page.locator(DASHED.format("spare vm", "quiet")).first.wait_for()
    assert page.evaluate("document.activeElement.dataset.guest") == "spare vm"

    # Escape closes the actions and asks for nothing; Delete on a guest offers its NICs'
    # Disconnect, the same as a click on its line.
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    assert menu.count() == 0 and focused(page).startswith("Guest web:")
    page.keyboard.press("Delete")
    assert page.evaluate("document.activeElement.textContent") == (
        "Disconnect from lan (52:54:00:00:00:01)"
    )
    with page.expect_request(lambda r: "/detach/" in r.url) as sent:
        page.keyboard.press("Enter")
    assert sent.value.url == live_server.url + reverse(
        "guest-nic-detach", args=[lab.name, "web", "52:54:00:00:00:01"]
    )
    page.locator('g.nic.leaving[data-guest="web"]').wait_for()
    assert Job.objects.filter(operation__in=["nic_attach", "nic_detach"]).count() == 2
    assert page.evaluate("window.vnwtMouse") == []
    page.context.close()


def test_clicking_a_line_offers_disconnect_and_the_form_connects_without_dragging(
    live_server, browser, lab, operator
):
    page = open_topology(browser, live_server, operator, lab)
    # A point on the line down from the switch (its path's box, without the stroke).
    x, y = page.locator('g.nic[data-guest="web"] path.line').evaluate(
        "p => { const r = p.getBoundingClientRect(); return [r.left, r.top + r.height / 2]; }"
    )
    page.mouse.click(x, y)
    menu = page.locator(".topo-menu")
    assert menu.locator("button").all_inner_texts() == [
        "Disconnect from lan (52:54:00:00:00:01)",
        "Cancel",
    ]
    page.keyboard.press("Escape")
    assert menu.count() == 0

    page.select_option("form.topo-connect select[name=guest]", "spare vm")
    page.select_option("form.topo-connect select[name=network]", "quiet")
    with page.expect_request(lambda r: "/nics/attach/" in r.url) as sent:
        page.click("form.topo-connect button")
    assert sent.value.url.endswith(reverse("guest-nic-attach", args=[lab.name, "spare vm"]))
    assert form_field(sent.value.post_data, "network") == "quiet"
    page.locator(DASHED.format("spare vm", "quiet")).first.wait_for()
    page.context.close()


def test_a_refusal_is_shown_in_words_and_nothing_is_drawn(
    live_server, browser, lab, operator, make_network
):
    make_network(lab, "down", mode="nat", active=False, ipv4="10.8.0.1/24")
    page = open_topology(browser, live_server, operator, lab)
    with page.expect_response(lambda r: ATTACH.search(r.url)) as answered:
        drag(page, 'g.guest[data-guest="web"]', 'g.switch[data-switch="down"]')
    assert answered.value.status == 400
    page.locator("#topo-status.error").wait_for()
    assert "start down first" in page.locator("#topo-status").inner_text()
    assert page.locator(".topo-overlay .pending, svg.topo g.nic.pending").count() == 0
    assert not Job.objects.exists()
    page.context.close()


def test_zoom_and_pan_survive_a_live_refresh_and_a_reload(
    live_server, browser, lab, operator, make_network
):
    page = open_topology(browser, live_server, operator, lab)
    page.click("button[data-zoom=in]")
    page.click("button[data-zoom=in]")
    box = page.locator(".topo-viewport").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 40, box["y"] + box["height"] - 40)  # background
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 140, box["y"] + box["height"] - 90, steps=5)
    page.mouse.up()
    page.mouse.move(box["x"] + 200, box["y"] + 200)
    page.mouse.wheel(0, -200)
    before = transform(page)
    assert "scale(1)" not in before and "translate(0px, 0px)" not in before
    page.evaluate("window.samePage = true")
    page.locator('g.guest[data-guest="web"]').focus()

    make_network(lab, "added", mode="route", active=True, ipv4="10.7.0.1/24")
    live.send(lab.pk)
    page.locator('svg.topo g.switch[data-switch="added"]').wait_for(timeout=5000)
    assert page.evaluate("window.samePage")
    assert transform(page) == before
    # The focused guest is the new drawing's.
    assert (
        page.evaluate("document.activeElement.isConnected && document.activeElement.dataset.guest")
        == "web"
    )
    assert page.locator('select[name=network] option[value="added"]').count() == 1

    page.reload()
    page.locator("svg.topo").wait_for()
    assert transform(page) == before
    page.click("button[data-zoom=reset]")
    assert transform(page) == "translate(0px, 0px) scale(1)"
    page.context.close()


def test_a_viewers_guests_cannot_be_dragged_anywhere(live_server, browser, lab, viewer):
    page = open_topology(browser, live_server, viewer, lab)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    guest = page.locator('g.guest[data-guest="spare vm"]')
    assert page.locator("#topology[data-edit]").count() == 0
    assert page.locator("form.topo-connect, [data-action=new-switch]").count() == 0
    before = transform(page)
    drag(page, 'g.guest[data-guest="spare vm"]', 'g.switch[data-switch="lan"]')
    guest.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Delete")
    assert posts == []
    assert page.locator(".topo-overlay line").count() == 0
    # Its actions hold its page only: nothing to connect or disconnect.
    assert page.locator(".topo-menu a, .topo-menu button").all_inner_texts() == [
        "Open the page of spare vm",
        "Cancel",
    ]
    assert transform(page) != before  # the drag panned the drawing instead
    page.context.close()
