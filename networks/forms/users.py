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
        try:
            patterns = grant_patterns(self.cleaned_data["networks"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return ", ".join(patterns or ())
