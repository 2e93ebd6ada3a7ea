"""The admin as a support lead reads it: transcripts with notes, handoffs, system notices and
agent names; CSV exports with readable feedback and the rating; plurals that read right."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from conversations import services
from conversations.admin import spreadsheet_safe
from conversations.models import Conversation, Message, Note
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_user(
        "sam", password="pw-123456-long", is_staff=True, is_superuser=True, first_name="Sam"
    )
    client = Client()
    client.force_login(user)
    return client


def test_transcript_interleaves_notes_and_marks_handoffs_notices_and_agents(admin_client: Client) -> None:
    sam = User.objects.get(username="sam")
    conv, _ = factories.conversation(status="human")
    base = timezone.now() - timedelta(minutes=10)
    factories.customer_message(conv, "My order never came")
    factories.bot_reply(conv, 2, text="I can't look up orders myself.", handoff=True, mode="handoff")
    Message.objects.create(conversation=conv, seq=3, role="system", text="Sam joined the conversation.", mode="notice")
    Conversation.objects.filter(pk=conv.pk).update(last_seq=3)  # the rows above were written directly
    services.agent_message_create(conversation=conv, user=sam, text="Hi, Sam here, checking now.")
    note = services.note_create(conversation=conv, user=sam, text="Courier lost it, refund approved")
    for seq, minutes in ((1, 0), (2, 1), (3, 2), (4, 4)):
        Message.objects.filter(conversation=conv, seq=seq).update(created_at=base + timedelta(minutes=minutes))
    Note.objects.filter(pk=note.pk).update(created_at=base + timedelta(minutes=3))

    html = admin_client.get(f"/admin/conversations/conversation/{conv.id}/change/").content.decode()
    order = [
        html.index("My order never came"),
        html.index("Handed over to a person"),
        html.index("Sam joined the conversation."),
        html.index("Courier lost it, refund approved"),
        html.index("Hi, Sam here, checking now."),
    ]
    assert order == sorted(order)
    assert "Internal note by Sam" in html and "Sam (agent)" in html


def test_csv_has_readable_feedback_a_rating_and_the_agent(admin_client: Client) -> None:
    sam = User.objects.get(username="sam")
    conv, _ = factories.conversation()
    good = factories.bot_reply(conv, 1, text="-5 degrees is the limit")
    bad = factories.bot_reply(conv, 2, text="Sorry")
    services.message_feedback(conversation=conv, message_id=str(good.id), value=1)
    services.message_feedback(conversation=conv, message_id=str(bad.id), value=-1)
    Conversation.objects.filter(pk=conv.pk).update(last_seq=2)  # the replies were written directly
    services.agent_message_create(conversation=conv, user=sam, text="@here is a formula")
    services.conversation_rate(conversation=conv, stars=4)
    response = admin_client.post(
        "/admin/conversations/conversation/", {"action": "export_csv", "_selected_action": [str(conv.id)]}
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["role"], r["author"], r["feedback"], r["rating"]) for r in rows] == [
        ("assistant", "", "helpful", "4"),
        ("assistant", "", "not helpful", "4"),
        ("system", "", "", "4"),  # "Sam joined the conversation."
        ("agent", "Sam", "", "4"),
    ]
    assert rows[0]["text"] == "'-5 degrees is the limit"  # text that starts like a formula is guarded
    assert rows[3]["text"] == "'@here is a formula"


def test_numbers_stay_numbers_and_formulas_are_guarded() -> None:
    assert spreadsheet_safe(-1) == "-1" and spreadsheet_safe("+4.5") == "+4.5" and spreadsheet_safe(None) == ""
    assert spreadsheet_safe("=1+1") == "'=1+1" and spreadsheet_safe("-1+2") == "'-1+2"
    assert spreadsheet_safe("helpful") == "helpful"


@pytest.mark.parametrize(("count", "said"), [(1, "1 answer approved for training."), (2, "2 answers approved")])
def test_approving_answers_says_how_many_in_good_english(admin_client: Client, count: int, said: str) -> None:
    conv, _ = factories.conversation()
    replies = [factories.bot_reply(conv, seq) for seq in range(1, count + 1)]
    response = admin_client.post(
        "/admin/conversations/message/",
        {"action": "approve", "_selected_action": [str(r.id) for r in replies]},
        follow=True,
    )
    assert said in response.content.decode()
