import re

from django import forms

from networks.models import Host

# Schemes libvirt's remote driver and local drivers accept that make sense for network management.
_URI = re.compile(r"^(qemu|test)(\+(ssh|tls|tcp|unix|libssh|libssh2))?://[^\s]*$")
# Names that are also fixed paths under /hosts/ (hosts/add/ would hide a host called "add").
_RESERVED_NAMES = {"add"}


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
        return uri


class HostEditForm(HostForm):
    """The name is fixed once a host exists: it names the host's worker queue."""

    class Meta(HostForm.Meta):
        fields = ["uri", "description"]
