"""Attach, move, detach a guest's NIC and set its link: each a job for the host's worker."""

from django.http import HttpResponse


def nic_attach(request, host, name):
    return HttpResponse(status=501)


def nic_move(request, host, name, mac):
    return HttpResponse(status=501)


def nic_detach(request, host, name, mac):
    return HttpResponse(status=501)


def nic_link(request, host, name, mac):
    return HttpResponse(status=501)
