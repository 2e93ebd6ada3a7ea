from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie

from conversations import gaps, selectors
from conversations.payloads import display_name
from conversations.redaction import redact


def demo(request: HttpRequest) -> HttpResponse:
    """A demo shop page with the widget, embedded exactly as a customer site would."""
    server = f"{request.scheme}://{request.get_host()}"
    return render(request, "demo.html", {"server": server, "company": settings.COMPANY_NAME})


@staff_member_required
@ensure_csrf_cookie
def console(request: HttpRequest) -> HttpResponse:
    """The staff console: live inbox, takeover, replies, notes (static/console/console.js)."""
    return render(request, "console.html", {"user_name": display_name(request.user)})


# Periods the knowledge-gaps page offers, in days; groups shown per page.
GAP_PERIODS = (7, 30, 90, 365)
GAPS_PER_PAGE = 20
# Transcript links shown per group.
GAP_LINKS = 10


@staff_member_required
def knowledge_gaps(request: HttpRequest) -> HttpResponse:
    """Questions the help centre had no answer for, grouped by what they ask, each with its
    transcripts and a link that starts the article that would answer them."""
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    if days not in GAP_PERIODS:
        days = 30
    questions = selectors.gap_questions(since=timezone.now() - timedelta(days=days))
    page = Paginator(gaps.group(questions), GAPS_PER_PAGE).get_page(request.GET.get("page"))
    add_article = reverse("admin:generation_article_add")
    rows = [
        {
            "summary": gaps.summary(gap),
            "label": gap.label,
            "examples": [q.text for q in gaps.examples(gap)],
            "conversations": [
                {"id": cid[:8], "url": reverse("admin:conversations_conversation_change", args=[cid])}
                for cid in gap.conversation_ids[:GAP_LINKS]
            ],
            "more": max(0, len(gap.conversation_ids) - GAP_LINKS),
            "add_article": add_article
            + "?"
            + urlencode({"title": gap.label[:1].upper() + gap.label[1:], "questions": _example_questions(gap)}),
        }
        for gap in page.object_list
    ]
    context = {"page": page, "rows": rows, "days": days, "periods": GAP_PERIODS, "questions": len(questions)}
    return render(request, "gaps.html", context)


def _example_questions(gap: gaps.Gap) -> str:
    """The group's questions as an article's example questions, personal data redacted (they
    become training material)."""
    return "\n".join(redact(q.text)[:200] for q in gaps.examples(gap))
