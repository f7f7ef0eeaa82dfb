"""A host's guests and one guest's page (filled in as the NIC work lands)."""

from django.http import HttpResponse


def guest_list(request, host):
    return HttpResponse(status=501)


def guest_detail(request, host, name):
    return HttpResponse(status=501)
