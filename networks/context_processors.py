from django.http import HttpRequest

from networks.permissions import Role, role_of


def role(request: HttpRequest) -> dict:
    user_role = role_of(request.user)
    return {
        "role": user_role,
        "can_operate": user_role >= Role.OPERATOR,
        "can_administer": user_role >= Role.ADMIN,
    }
