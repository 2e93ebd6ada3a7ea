"""Business hours: the parser, the out-of-hours notice on a handoff, and the email a customer
leaves for the answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from conversations import hours, services
from conversations.models import Conversation, Message
from tests import factories

BERLIN = ZoneInfo("Europe/Berlin")


def at(day_offset: int, hh: int, mm: int = 0) -> datetime:
    """A time in UTC, ``day_offset`` days after Wednesday 2025-01-15."""
    return datetime(2025, 1, 15 + day_offset, hh, mm, tzinfo=UTC)


# --- the parser ----------------------------------------------------------------------------------
def test_weekday_hours_are_open_inside_and_closed_outside() -> None:
    week = hours.Schedule(hours.parse_hours("Mon-Fri 09:00-17:00"), ZoneInfo("UTC"))
    assert week.is_open(at(0, 9)) and week.is_open(at(0, 16, 59))
    assert not week.is_open(at(0, 17)) and not week.is_open(at(0, 8, 59))
    assert not week.is_open(at(3, 12))  # Saturday


def test_several_rules_day_lists_full_names_and_wrapping_ranges_parse() -> None:
    windows = hours.parse_hours("Mon,Wed 08:00-12:00; saturday 10:00-14:00, Sun-Mon 20:00-24:00")
    assert {(w.day, w.start, w.end) for w in windows} == {
        (0, 480, 720),
        (2, 480, 720),
        (5, 600, 840),
        (6, 1200, 1440),
        (0, 1200, 1440),
    }


def test_an_empty_spec_means_always_staffed() -> None:
    assert hours.parse_hours("  ") == ()
    assert hours.schedule("", "UTC") is None


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("Mon-Fry 09:00-17:00", "'Fry' is not a day"),
        ("Mon-Fri 9-17", "not a list of 'Days HH:MM-HH:MM' rules"),
        ("Mon-Fri 17:00-09:00", "ends before it starts"),
        ("Mon 09:00-24:30", "not a time of day"),
        ("Mon 09:75-10:00", "not a time of day"),
        ("09:00-17:00", "not a list"),
    ],
)
def test_a_wrong_spec_is_refused_saying_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        hours.parse_hours(spec)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        hours.schedule("Mon 09:00-17:00", "Mars/Olympus")


def test_hours_are_wall_clock_times_of_the_support_time_zone() -> None:
    berlin = hours.Schedule(hours.parse_hours("Mon-Fri 09:00-17:00"), BERLIN)
    assert berlin.is_open(at(0, 8, 30))  # 09:30 in Berlin (UTC+1 in January)
    assert not berlin.is_open(at(0, 16, 30))  # 17:30 in Berlin


def test_next_opening_is_later_today_tomorrow_or_after_the_weekend() -> None:
    week = hours.Schedule(hours.parse_hours("Mon-Fri 09:00-17:00"), ZoneInfo("UTC"))
    assert week.next_opening(at(0, 7)) == at(0, 9)
    assert week.next_opening(at(0, 18)) == at(1, 9)
    assert week.next_opening(at(2, 18)) == at(5, 9)  # Friday evening -> Monday
    assert week.next_opening(at(0, 12)) == at(0, 12)  # open now


def test_the_notice_says_when_the_team_is_back_in_words() -> None:
    week = hours.Schedule(hours.parse_hours("Mon-Fri 09:00-17:00"), ZoneInfo("UTC"))
    assert hours.offline_notice(week, at(2, 18)) == (
        "Our team is offline now and back Monday at 09:00 (UTC). Leave your email and we'll answer there."
    )
    assert "back tomorrow at 09:00" in hours.offline_notice(week, at(0, 18))
    assert "back today at 09:00" in hours.offline_notice(week, at(0, 6))


def test_a_typo_in_support_hours_fails_the_startup_check(settings: Any) -> None:
    settings.SUPPORT_HOURS = "Mon-Fri 9:00-5:00"
    with pytest.raises(SystemCheckError, match="ends before it starts"):
        call_command("check")


# --- the notice on a handoff --------------------------------------------------------------------------
def closed_now() -> str:
    """Hours that are not now: tomorrow only (UTC)."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%a")
    return f"{tomorrow} 09:00-17:00"


def hand_off(conversation: Conversation, *, fail: bool = False) -> None:
    reply = factories.customer_message(conversation, "Do you sell kayaks?").reply
    assert reply is not None and services.reply_claim(message_id=str(reply.id)) is not None
    if fail:
        services.reply_fail(message_id=str(reply.id), error="boom")
    else:
        services.reply_complete(
            message_id=str(reply.id), text="Of course. A member of our team…", meta={"mode": "handoff", "handoff": True}
        )


@pytest.mark.django_db
@pytest.mark.parametrize("fail", [False, True])
def test_a_handoff_outside_hours_tells_the_customer_when_the_team_is_back(settings: Any, fail: bool) -> None:
    settings.SUPPORT_HOURS = closed_now()
    conversation, _ = factories.conversation()
    hand_off(conversation, fail=fail)
    notice = Message.objects.filter(conversation=conversation, role=Message.Role.SYSTEM).get()
    assert notice.mode == "offline" and notice.seq == 3
    assert notice.text.startswith("Our team is offline now and back tomorrow at 09:00 (UTC).")
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.NEEDS_HUMAN and conversation.offline_notice_at is not None


@pytest.mark.django_db
def test_a_handoff_within_hours_or_without_hours_adds_no_notice(settings: Any) -> None:
    now = datetime.now(UTC)
    settings.SUPPORT_HOURS = f"{now:%a} 00:00-24:00"
    first, _ = factories.conversation()
    hand_off(first)
    settings.SUPPORT_HOURS = ""
    second, _ = factories.conversation()
    hand_off(second)
    assert not Message.objects.filter(role=Message.Role.SYSTEM).exists()


@pytest.mark.django_db
def test_a_second_handoff_while_waiting_for_a_person_adds_no_second_notice(settings: Any) -> None:
    settings.SUPPORT_HOURS = closed_now()
    conversation, _ = factories.conversation()
    hand_off(conversation)
    reply = factories.customer_message(conversation, "Hello?").reply
    assert reply is not None and services.reply_claim(message_id=str(reply.id)) is not None
    services.reply_complete(message_id=str(reply.id), text="Of course.", meta={"mode": "handoff", "handoff": True})
    assert Message.objects.filter(conversation=conversation, role=Message.Role.SYSTEM).count() == 1


# --- the email a customer leaves ---------------------------------------------------------------------
def leave(client: Client, conversation_id: object, token: str, body: object) -> Any:
    return client.post(
        f"/api/conversations/{conversation_id}/contact/",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.django_db
def test_the_email_a_customer_leaves_is_confirmed_and_shown_in_the_staff_inbox(client: Client, settings: Any) -> None:
    settings.SUPPORT_HOURS = closed_now()
    conversation, token = factories.conversation()
    hand_off(conversation)
    response = leave(client, conversation.pk, token, {"email": "  jo@example.com "})
    assert response.status_code == 201
    notice = response.json()["message"]
    assert notice["role"] == "system" and notice["mode"] == "notice" and "jo@example.com" in notice["text"]
    listed = client.get(
        f"/api/conversations/{conversation.pk}/messages/?after=3", headers={"Authorization": f"Bearer {token}"}
    )
    assert [m["text"] for m in listed.json()["messages"]] == [notice["text"]]

    client.force_login(User.objects.create_user("sam", password="pw-123456-long", is_staff=True))
    summary = client.get("/api/staff/conversations/").json()["conversations"][0]
    assert summary["contact_email"] == "jo@example.com" and summary["offline_request"] is True
    assert summary["needs_human"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "not an email"}, "invalid"),
        ({"email": ""}, "invalid"),
        ({"email": "a@" + "b" * 260 + ".com"}, "invalid"),
        ({"email": 42}, "invalid"),
        ({}, "invalid"),
    ],
)
def test_a_contact_email_that_is_no_address_is_refused(client: Client, body: object, code: str) -> None:
    conversation, token = factories.conversation()
    response = leave(client, conversation.pk, token, body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    conversation.refresh_from_db()
    assert conversation.contact_email == "" and not conversation.messages.exists()


@pytest.mark.django_db
def test_a_contact_email_needs_the_conversations_token(client: Client) -> None:
    conversation, _ = factories.conversation()
    _, other_token = factories.conversation()
    assert leave(client, conversation.pk, other_token, {"email": "jo@example.com"}).status_code == 401
    conversation.refresh_from_db()
    assert conversation.contact_email == ""


@pytest.mark.django_db
def test_an_anonymous_conversation_shows_no_customer_and_no_offline_request(client: Client) -> None:
    factories.conversation()
    client.force_login(User.objects.create_user("sam", password="pw-123456-long", is_staff=True))
    summary = client.get("/api/staff/conversations/").json()["conversations"][0]
    assert summary["customer"] is None and summary["contact_email"] == "" and summary["offline_request"] is False
