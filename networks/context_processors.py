from django.http import HttpRequest

from networks import permissions
from networks.permissions import role_of
from networks.roles import Role


def role(request: HttpRequest) -> dict:
    """The global role, for the header and pages about no one object. Pages of a host or a
    network put the role on that object in their own context (it wins over these)."""
    user_role = role_of(request.user)
    return {
        "role": user_role,
        "any_access": permissions.has_any_access(request.user),
        "site_admin": user_role >= Role.ADMIN,
        "can_operate": user_role >= Role.OPERATOR,
        "can_administer": user_role >= Role.ADMIN,
    }
