"""An attacker's pass over a running `make run` (issue 16), in Chromium, with the site's forms only.

Run as root while `make run` serves:  .venv/bin/python scripts/attacker_pass.py
It makes a network vnwt-atk (10.213.77.0/24) and two users (admin of the host's vnwt-* networks,
admin of the whole host), tries each input of issue 16 as them and as the site admin, checks that
nothing reached libvirt, dnsmasq or /tmp, and removes what it made, also when a check fails.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = "http://" + os.environ.get("VNETWEB_BIND", "127.0.0.1:8000")
REPO = Path(__file__).resolve().parents[1]
NET = "vnwt-atk"
CONF = Path(f"/var/lib/libvirt/dnsmasq/{NET}.conf")
TRACES = [Path("/tmp/x"), Path("/tmp/y"), Path("/tmp/z")]
USERS = {"lab-admin": "Lab-admin-pw-2026", "host-admin": "Host-admin-pw-2026"}
NETWORK = f"""<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>{NET}</name><forward mode='nat'/><bridge name='vnwtatk0' stp='off'/>
  <ip address='10.213.77.1' netmask='255.255.255.0'>
    <dhcp><range start='10.213.77.100' end='10.213.77.150'/></dhcp>
  </ip>
  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>
</network>"""
NO_PING = "<dnsmasq:option value='no-ping'/>"


def _option(value: str):
    return lambda xml: xml.replace(NO_PING, NO_PING + f"<dnsmasq:option value='{value}'/>")


def _tftp(xml: str) -> str:
    tftp = "<tftp root='/srv&#10;conf-script=id &gt;/tmp/x'/>"
    return re.sub(r"(<ip [^>]*>)", r"\1" + tftp, xml, count=1)


XML_ATTACKS = {
    "conf-script via quotes": _option('co"n"f-script=id &gt;/tmp/x'),
    "dhcp-script via quotes": _option('dhcp-sc"r"ipt=/tmp/z'),
    "dumpfile": _option("dumpfile=/tmp/z"),
    "tftp newline": _tftp,
}
URI_ATTACKS = {
    "ssh command via ;": "qemu+ssh://-c@localhost/system?keyfile=id%3E/tmp/y;command=/bin/sh",
    "netcat": "qemu+ssh://root@localhost/system?netcat=/tmp/y",
    "user starting -": "qemu+ssh://-oProxyCommand=id@localhost/system",
    "test:// escaped ..": f"test://{REPO}/networks/demo/%2E%2E/%2E%2E/%2E%2E/%2E%2E/tmp/f.xml",
    "test:// /dev/zero": "test:///dev/zero",
    "keyfile outside": "qemu+ssh://root@kvm1/system?keyfile=/root/.ssh/id_rsa",
    "no_verify": "qemu+ssh://root@kvm1/system?no_verify=1",
    "upper-case COMMAND": "qemu+ssh://root@kvm1/system?COMMAND=/bin/sh",
    "%3B": "qemu+ssh://root@kvm1/system?no_tty=1%3Bcommand=/bin/sh",
}
results: list[tuple[str, bool]] = []


def note(what: str, ok: bool, detail: str = "") -> None:
    results.append((what, ok))
    print(("OK  " if ok else "BAD ") + what + (f": {detail}" if detail else ""), flush=True)


def virsh(*args: str) -> subprocess.CompletedProcess:
    command = ["virsh", "-c", "qemu:///system", *args]
    return subprocess.run(command, capture_output=True, text=True)


def manage(code: str) -> str:
    command = [str(REPO / ".venv/bin/python"), "manage.py", "shell", "-c", code]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout


def set_up() -> None:
    Path("/tmp/vnwt-atk.xml").write_text(NETWORK)
    assert virsh("net-define", "/tmp/vnwt-atk.xml").returncode == 0
    assert virsh("net-start", NET).returncode == 0
    for trace in TRACES:
        trace.unlink(missing_ok=True)
    manage(
        "from django.contrib.auth.models import User\n"
        "from networks.models import Grant, Host\n"
        "local = Host.objects.get(name='local')\n"
        f"for name, password, pattern in (('lab-admin', {USERS['lab-admin']!r}, 'vnwt-*'),"
        f" ('host-admin', {USERS['host-admin']!r}, '')):\n"
        "    user = User.objects.create_user(name, password=password)\n"
        "    Grant.objects.create(user=user, host=local, role='admin', networks=pattern)\n"
    )


def tear_down() -> None:
    virsh("net-destroy", NET)
    virsh("net-undefine", NET)
    delete = f"User.objects.filter(username__in={list(USERS)}).delete()"
    manage("from django.contrib.auth.models import User; " + delete)


def log_in(browser, user: str, password: str):
    page = browser.new_context().new_page()
    page.goto(BASE + "/accounts/login/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log in')")
    page.wait_for_url(BASE + "/networks/")
    return page


def errors(page) -> str:
    return " | ".join(text.strip() for text in page.locator(".error, .errorlist").all_inner_texts())


def saved() -> str:
    return virsh("net-dumpxml", "--inactive", NET).stdout


def raw_xml_attacks(page, user: str) -> None:
    for name, change in XML_ATTACKS.items():
        before = saved()
        page.goto(f"{BASE}/hosts/local/networks/{NET}/xml/")
        editor = page.locator("textarea[name=xml]")
        editor.fill(change(editor.input_value()))
        page.click("button[name=review]")
        page.wait_for_load_state()
        offered = page.locator("button[name=restart], button[name=apply]").count()
        said = errors(page)
        note(f"{user}: raw XML, {name}", not offered and bool(said) and saved() == before, said)


def uri_attacks(page) -> None:
    count = "from networks.models import Host; print(Host.objects.count())"
    before = manage(count)
    for name, uri in URI_ATTACKS.items():
        page.goto(BASE + "/hosts/add/")
        page.fill("input[name=name]", "vnwt-atk-host")
        page.fill("input[name=uri]", uri)
        page.click("button:has-text('Save')")
        page.wait_for_load_state()
        said = errors(page)
        note(f"admin: host URI, {name}", bool(said) and page.url.endswith("/hosts/add/"), said)
    note("no host row was made", manage(count) == before)


def main() -> int:
    admin_password = (REPO / "var/initial-admin-password").read_text().strip()
    set_up()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            admin = log_in(browser, "admin", admin_password)
            for _ in range(60):  # until the worker has read the new network
                if admin.goto(f"{BASE}/hosts/local/networks/{NET}/").status == 200:
                    break
                time.sleep(0.5)
            for user, password in USERS.items():
                raw_xml_attacks(log_in(browser, user, password), user)
            raw_xml_attacks(admin, "admin")
            uri_attacks(admin)
            browser.close()
        time.sleep(3)  # a worker that had taken a job would have acted by now
        for trace in TRACES:
            note(f"{trace} was never written", not trace.exists())
        foreign = re.search("conf-script|dumpfile|tftp", CONF.read_text())
        note(f"{CONF} has only libvirt's own lines", not foreign)
    finally:
        tear_down()
    bad = [what for what, ok in results if not ok]
    print(f"{len(results) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
