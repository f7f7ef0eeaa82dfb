"""The roles, declared once: viewer < operator < admin. Each global role is the Django group of
the same name (made by a migration); grants name the same roles on a host or its networks.
Who may do what with a role is decided in networks.permissions.
"""

from enum import IntEnum


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def group(self) -> str:
        """The name of the Django group that gives this role ("" for NONE)."""
        return "" if self is Role.NONE else self.name.lower()

    @property
    def label(self) -> str:
        return self.name.capitalize() if self is not Role.NONE else "None"


# The roles a user, a group or a grant can hold, lowest first.
GRANTED = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
ROLE_GROUPS = {role.group: role for role in GRANTED}
