"""What the customer is told about the people in their conversation: notices when an agent
joins or leaves, the agent's name, their typing, a request for a person, and the bot taking
up what nobody answered."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from chatsite.asgi import application
from conversations import services
from conversations.models import Conversation, Message
from conversations.payloads import message_payload
from tests import factories
from tests.waiting import wait_until


def agent(username: str = "sam", first_name: str = "Sam") -> User:
    return User.objects.create_user(username, first_name=first_name, last_name="", is_staff=True)


def transcript(conv: Conversation) -> list[tuple[str, str, str]]:
    return [(m.role, m.mode, m.text) for m in factories.messages(conv)]


@pytest.mark.django_db(transaction=True)
def test_takeover_and_handback_leave_a_notice_with_the_agents_name_once() -> None:
    conv, _ = factories.conversation()
    sam = agent()
    services.conversation_takeover(conversation=conv, user=sam)
    services.conversation_takeover(conversation=conv, user=sam)  # already hers: nothing new
    services.agent_message_create(conversation=conv, user=sam, text="Hi, Sam here.")
    services.conversation_handback(conversation=conv, user=sam)
    services.conversation_handback(conversation=conv, user=sam)
    assert transcript(conv) == [
        ("system", "notice", "Sam joined the conversation."),
        ("agent", "", "Hi, Sam here."),
        ("system", "notice", "Sam left the conversation. You're chatting with the automated assistant again."),
    ]
    shown = services.messages_after(conversation=conv, after=0)
    assert [message_payload(m)["author_name"] for m in shown] == ["Sam", "Sam", "Sam"]
    # ``handoff`` on a notice: a person has the conversation from there on (or is asked for).
    assert [m.handoff for m in shown] == [True, False, False]
    factories.customer_message(conv, "Thanks!")
    assert message_payload(factories.messages(conv)[-1])["author_name"] == ""


@pytest.mark.django_db(transaction=True)
def test_replying_without_taking_over_first_tells_the_customer_who_joined() -> None:
    conv, _ = factories.conversation()
    factories.customer_message(conv, "Where is my order?")
    services.agent_message_create(conversation=conv, user=agent("alex", "Alex"), text="Let me look.")
    roles = [(role, text) for role, _, text in transcript(conv)]
    assert roles[-2:] == [("system", "Alex joined the conversation."), ("agent", "Let me look.")]
    conv.refresh_from_db()
    assert conv.status == Conversation.Status.HUMAN


@pytest.mark.django_db(transaction=True)
def test_a_username_is_shown_only_when_the_agent_has_no_name() -> None:
    conv, _ = factories.conversation()
    services.conversation_takeover(conversation=conv, user=agent("kim.lee", ""))
    assert transcript(conv) == [("system", "notice", "kim.lee joined the conversation.")]


@pytest.mark.django_db(transaction=True)
def test_after_handback_the_bot_answers_the_message_nobody_answered() -> None:
    conv, _ = factories.conversation()
    sam = agent()
    services.conversation_takeover(conversation=conv, user=sam)
    question = factories.customer_message(conv, "Sure, it's order TW-48213. Thanks Sam!")
    assert question.reply is None  # a person has it: the bot is silent
    services.conversation_handback(conversation=conv, user=sam)
    # Enqueued as for a new message (a worker, if one runs, may have taken it already).
    reply = Message.objects.get(conversation=conv, role=Message.Role.ASSISTANT)
    assert reply.reply_to_id == question.message.id
    notice = Message.objects.get(conversation=conv, role=Message.Role.SYSTEM, text__contains="left")
    assert notice.seq + 1 == reply.seq


@pytest.mark.django_db(transaction=True)
def test_after_handback_an_answered_conversation_gets_no_new_reply() -> None:
    conv, _ = factories.conversation()
    sam = agent()
    factories.customer_message(conv, "Where is my parcel?")
    services.agent_message_create(conversation=conv, user=sam, text="It left this morning.")
    services.conversation_handback(conversation=conv, user=sam)
    # The bot's reply to the question was dropped at the takeover, or, where a worker had begun
    # it, stops with what it streamed (the stop request is read within a step of the engine).
    replies = Message.objects.filter(conversation=conv, role=Message.Role.ASSISTANT)
    wait_until(lambda: not replies.exclude(status=Message.Status.COMPLETE).exists(), 30, "the bot's reply to end or go")
    left = Message.objects.get(conversation=conv, role=Message.Role.SYSTEM, text__contains="left")
    assert not replies.filter(seq__gt=left.seq).exists()  # the agent had answered: no new reply


async def receive(communicator: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await communicator.receive_from(timeout=timeout))
    return frame


async def receive_type(communicator: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict[str, Any]:
    while True:
        frame = await receive(communicator, timeout)
        if frame["type"] == kind:
            return frame


def session_cookie(client: Client) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_asking_for_a_person_flags_the_conversation_once_and_tells_staff() -> None:
    staff = Client()
    await database_sync_to_async(lambda: staff.force_login(agent()))()
    conv, token = await database_sync_to_async(factories.conversation)()
    console = WebsocketCommunicator(application, "/ws/staff/", headers=session_cookie(staff))
    assert (await console.connect())[0]
    assert (await receive(console))["type"] == "inbox"
    customer = WebsocketCommunicator(application, f"/ws/conversations/{conv.id}/?token={token}")
    assert (await customer.connect())[0]

    await customer.send_to(text_data=json.dumps({"type": "handoff"}))
    notice = await receive(customer)
    assert notice["type"] == "message" and notice["message"]["role"] == "system"
    assert notice["message"]["handoff"] is True and "member of our team" in notice["message"]["text"]
    update = await receive_type(console, "inbox.update")
    assert update["conversation"]["id"] == str(conv.id) and update["conversation"]["needs_human"] is True

    await customer.send_to(text_data=json.dumps({"type": "handoff"}))  # asking twice changes nothing
    assert await customer.receive_nothing(timeout=0.5)
    await customer.disconnect()
    await console.disconnect()
    messages = await database_sync_to_async(factories.messages)(conv)
    assert [m.role for m in messages] == ["system"]


@pytest.mark.django_db(transaction=True)
def test_asking_for_a_person_over_http(client: Client) -> None:
    conv, token = factories.conversation()
    url = f"/api/conversations/{conv.id}/handoff/"
    assert client.post(url).status_code == 401
    first = client.post(url, headers={"Authorization": f"Bearer {token}"})
    again = client.post(url, headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"status": "needs_human"}
    assert len(factories.messages(conv)) == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_customer_sees_the_agent_typing_and_only_the_agent_who_holds_it_may_type() -> None:
    sam, other = Client(), Client()
    sam_user = await database_sync_to_async(agent)()
    await database_sync_to_async(lambda: sam.force_login(sam_user))()
    await database_sync_to_async(lambda: other.force_login(agent("alex", "Alex")))()
    conv, token = await database_sync_to_async(factories.conversation)()
    customer = WebsocketCommunicator(application, f"/ws/conversations/{conv.id}/?token={token}")
    assert (await customer.connect())[0]
    consoles = {}
    for name, client in (("sam", sam), ("alex", other)):
        consoles[name] = WebsocketCommunicator(application, "/ws/staff/", headers=session_cookie(client))
        assert (await consoles[name].connect())[0]
        assert (await receive(consoles[name]))["type"] == "inbox"

    typing = {"type": "typing", "conversation_id": str(conv.id), "active": True}
    await consoles["sam"].send_to(text_data=json.dumps(typing))  # not taken over yet
    assert (await receive_type(consoles["sam"], "error"))["code"] == "forbidden"

    await database_sync_to_async(services.conversation_takeover)(conversation=conv, user=sam_user)
    assert (await receive(customer))["message"]["text"] == "Sam joined the conversation."
    await consoles["sam"].send_to(text_data=json.dumps(typing))
    assert await receive(customer) == {"type": "typing", "role": "agent", "name": "Sam", "active": True}
    await consoles["sam"].send_to(text_data=json.dumps({**typing, "active": False}))
    assert await receive(customer) == {"type": "typing", "role": "agent", "name": "Sam", "active": False}

    await consoles["alex"].send_to(text_data=json.dumps(typing))
    assert (await receive_type(consoles["alex"], "error"))["code"] == "forbidden"
    await consoles["sam"].send_to(text_data=json.dumps({**typing, "active": "yes"}))
    assert (await receive_type(consoles["sam"], "error"))["code"] == "invalid"
    await consoles["sam"].send_to(text_data=json.dumps({**typing, "conversation_id": "nope"}))
    assert (await receive_type(consoles["sam"], "error"))["code"] == "invalid"
    assert await customer.receive_nothing(timeout=0.5)
    for communicator in (customer, *consoles.values()):
        await communicator.disconnect()
