"""Users, their global role and their grants, managed in the site by global admins."""

from django import forms
from django.contrib.auth.forms import SetPasswordForm, UserCreationForm
from django.contrib.auth.models import User

from networks.models import Grant, Host
from networks.permissions import grant_patterns
from networks.roles import GRANTED

ROLE_CHOICES = [("", "none (grants only)"), *((role.group, role.label) for role in GRANTED)]


class UserAddForm(UserCreationForm):
    """Username, the password twice (Django's validators), and a global role or none."""

    role = forms.ChoiceField(choices=ROLE_CHOICES, required=False, label="Global role")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)


class OwnIds:
    """The user page draws three forms at once: each names its fields' ids with its own prefix
    (`ids`), so that no two fields share an id and each label points at its own field."""

    ids = "id_%s"

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", self.ids)
        super().__init__(*args, **kwargs)


class RoleForm(OwnIds, forms.Form):
    ids = "role-form_%s"
    role = forms.ChoiceField(choices=ROLE_CHOICES, required=False, label="Global role")


class PasswordForm(OwnIds, SetPasswordForm):
    """An admin sets a new password (Django's validators); it ends the user's sessions."""

    ids = "password-form_%s"


class GrantForm(OwnIds, forms.ModelForm):
    ids = "grant-form_%s"
    host = forms.ModelChoiceField(queryset=Host.objects.all(), empty_label=None)

    class Meta:
        model = Grant
        fields = ["role", "host", "networks"]
        labels = {"networks": "Networks"}

    def clean_networks(self) -> str:
        try:
            patterns = grant_patterns(self.cleaned_data["networks"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return ", ".join(patterns or ())
