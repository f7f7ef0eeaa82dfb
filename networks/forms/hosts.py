import re
from pathlib import Path
from urllib.parse import urlsplit

from django import forms

from networks.models import Host

# Schemes libvirt's remote driver and local drivers accept that make sense for network management.
_URI = re.compile(r"^(qemu|test)(\+(ssh|tls|tcp|unix|libssh|libssh2))?://[^\s]*$")
# Names that are also fixed paths under /hosts/ (hosts/add/ would hide a host called "add").
_RESERVED_NAMES = {"add"}
# libvirt's test driver reads the file a test:/// URI names, as the worker's user, and its parse
# errors quote lines of it: only the demo hosts shipped here, or the driver's built-in one.
DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
_TEST_DEFAULT = "test:///default"


# The URI parameters libvirt's remote driver takes that only say how to authenticate and reach
# the daemon. Others (command=, netcat=, socket=, ...) would have the worker, as root, run a
# program or reach a socket of the URI's choosing: not for a form.
SAFE_PARAMETERS = {
    "keyfile",
    "no_tty",
    "no_verify",
    "known_hosts",
    "known_hosts_verify",
    "sshauth",
    "pkipath",
    "mode",
    "proxy",
}


def refused_parameters(uri: str) -> str | None:
    """Why a URI's query parameters are refused; None when they are all safe ones."""
    names = sorted({part.split("=", 1)[0] for part in urlsplit(uri).query.split("&") if part})
    unsafe = [name for name in names if name not in SAFE_PARAMETERS]
    if not unsafe:
        return None
    return (
        f"vnetweb does not take the URI parameter{'s' if len(unsafe) > 1 else ''} "
        f"{', '.join(unsafe)}: only {', '.join(sorted(SAFE_PARAMETERS))}."
    )


def refused_test_uri(uri: str) -> str | None:
    """Why a test:/// URI is refused, or None when it is the built-in host or a demo file."""
    if uri == _TEST_DEFAULT:
        return None
    parts = urlsplit(uri)
    path = Path(parts.path)
    if (
        parts.scheme == "test"
        and not parts.netloc
        and not parts.query
        and not parts.fragment
        and path.is_absolute()
        and path.resolve().is_relative_to(DEMO_DIR)
        and path.resolve() != DEMO_DIR
    ):
        return None
    return (
        f"A test:/// URI may only be {_TEST_DEFAULT} or name a file in vnetweb's demo folder, "
        f"e.g. test://{DEMO_DIR / 'demo-host.xml'}."
    )


class HostForm(forms.ModelForm):
    class Meta:
        model = Host
        fields = ["name", "uri", "description"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name in _RESERVED_NAMES:
            raise forms.ValidationError(f"{name!r} is reserved by vnetweb's pages; choose another.")
        return name

    def clean_uri(self) -> str:
        uri = self.cleaned_data["uri"].strip()
        if not _URI.match(uri):
            raise forms.ValidationError(
                "Give a libvirt URI such as qemu:///system, qemu+ssh://root@kvm1/system, "
                "qemu+tls://kvm1/system or test:///default."
            )
        if uri.startswith("test"):
            error = refused_test_uri(uri)
            if error:
                raise forms.ValidationError(error)
        error = refused_parameters(uri)
        if error:
            raise forms.ValidationError(error)
        return uri


class HostEditForm(HostForm):
    """The name is fixed once a host exists: it names the host's worker queue."""

    class Meta(HostForm.Meta):
        fields = ["uri", "description"]
