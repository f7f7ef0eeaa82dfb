"""A new API token: its name, whether it may only read, and when it ends.

The end is asked as a number of days from now, not as a date: a date means a midnight in some
time zone (the site's is UTC, the person's may not be), while "90 days" means the same to
everyone and is how keys are usually rotated. The page shows the resulting moment.
"""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from networks.models import ApiToken

MAX_DAYS = 3650  # ten years: longer is "never", which an empty field says plainly


class TokenForm(forms.ModelForm):
    days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        label="Expires after (days)",
        help_text="Empty: it never expires. It can be revoked at any time.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    class Meta:
        model = ApiToken
        fields = ["name", "read_only"]
        labels = {"read_only": "Read-only"}
        help_texts = {"read_only": "It may read everything you see, and change nothing."}

    def expires(self) -> datetime | None:
        """When the token ends (after is_valid), None for never."""
        days = self.cleaned_data.get("days")
        return timezone.now() + timedelta(days=days) if days else None
