"""Your API tokens: the list, a new one, revoking one. Every logged-in user has this page,
whatever its role: a token acts with its user's roles (networks.api.auth), so the token of a
user without any role reads nothing. A site admin revokes anyone's on the user's page
(networks.views.users).

A new token's key is shown once, in the answer to the form that made it (201, no redirect): it is
not in a URL, a message or the session, so nothing keeps it after that page. The answer is not
cached (never_cache), and sending the form again is refused for the name already taken.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from networks import tokens
from networks.forms.tokens import TokenForm
from networks.models import ApiToken

CREATED = 201  # the page with the new key: the answer to the form, drawn once
INVALID = 422  # a form with field errors comes back with them, as the other forms do


def back_to(request: HttpRequest, url: str) -> HttpResponse:
    """After a revoke: the page again. The Revoke buttons post through htmx (for their confirm),
    which is told to load the page itself; without scripts the form posts and is redirected."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _page(
    request: HttpRequest, form: TokenForm, *, made: tuple | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "tokens": ApiToken.objects.filter(user=request.user),
        "made": made,
        "networks_url": request.build_absolute_uri(reverse("api-v1:networks")),
    }
    return render(request, "tokens/list.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            made = tokens.issue(
                request.user,
                form.cleaned_data["name"],
                read_only=form.cleaned_data["read_only"],
                expires=form.expires(),
            )
        except tokens.TokenNameTaken as exc:
            form.add_error("name", str(exc))
        else:
            return _page(request, TokenForm(), made=made, status=CREATED)
    return _page(request, form, status=INVALID)


@require_POST
def token_revoke(request: HttpRequest, token: int) -> HttpResponse:
    """Only one's own: another user's token is not found (404), as one revoked already."""
    found = get_object_or_404(ApiToken.objects.select_related("user"), pk=token, user=request.user)
    tokens.revoke(found, by=request.user)
    messages.success(request, f"Token {found.name} revoked: requests with its key are refused.")
    return back_to(request, reverse("token-list"))
