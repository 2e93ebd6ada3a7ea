from __future__ import annotations

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from conversations.payloads import display_name


def demo(request: HttpRequest) -> HttpResponse:
    """A demo shop page with the widget, embedded exactly as a customer site would."""
    server = f"{request.scheme}://{request.get_host()}"
    return render(request, "demo.html", {"server": server, "company": settings.COMPANY_NAME})


@staff_member_required
@ensure_csrf_cookie
def console(request: HttpRequest) -> HttpResponse:
    """The staff console: live inbox, takeover, replies, notes (static/console/console.js)."""
    return render(request, "console.html", {"user_name": display_name(request.user)})
