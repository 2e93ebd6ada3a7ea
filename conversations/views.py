from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def demo(request: HttpRequest) -> HttpResponse:
    """A demo shop page with the widget, embedded exactly as a customer site would."""
    server = f"{request.scheme}://{request.get_host()}"
    return render(request, "demo.html", {"server": server, "company": settings.COMPANY_NAME})
