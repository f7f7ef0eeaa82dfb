from django import forms

from networks import host_uri
from networks.models import Host

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
        # The gateway asks the same again right before it connects (networks.host_uri).
        uri = self.cleaned_data["uri"].strip()
        error = host_uri.refusal(uri)
        if error:
            raise forms.ValidationError(error)
        return uri


class HostEditForm(HostForm):
    """The name is fixed once a host exists: it names the host's worker queue."""

    class Meta(HostForm.Meta):
        fields = ["uri", "description"]
