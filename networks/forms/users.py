"""Users, their global role and their grants, managed in the site by global admins."""

from django import forms
from django.contrib.auth.forms import SetPasswordForm, UserCreationForm
from django.contrib.auth.models import User

from networks.models import Grant, Host
from networks.permissions import PATTERN

ROLE_CHOICES = [("", "none (grants only)"), *Grant.Role.choices]


class UserAddForm(UserCreationForm):
    """Username, the password twice (Django's validators), and a global role or none."""

    role = forms.ChoiceField(choices=ROLE_CHOICES, required=False, label="Global role")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, required=False, label="Global role")


class PasswordForm(SetPasswordForm):
    """An admin sets a new password (Django's validators); it ends the user's sessions."""


class GrantForm(forms.ModelForm):
    host = forms.ModelChoiceField(queryset=Host.objects.all(), empty_label=None)

    class Meta:
        model = Grant
        fields = ["role", "host", "networks"]
        labels = {"networks": "Networks"}

    def clean_networks(self) -> str:
        patterns = [p.strip() for p in self.cleaned_data["networks"].split(",") if p.strip()]
        for pattern in patterns:
            if not PATTERN.match(pattern):
                raise forms.ValidationError(
                    f"{pattern!r} is not a pattern of network names: names with * and ?, "
                    "separated by commas (lab-*, web?)."
                )
        return ", ".join(patterns)
