"""Forms: hosts (hosts.py) and the switch editor (switch.py, with lines.py for list fields)."""

from networks.forms.hosts import HostEditForm, HostForm

__all__ = ["HostEditForm", "HostForm"]
