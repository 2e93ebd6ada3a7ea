from __future__ import annotations

import uuid
from typing import Any

import pytest

from conversations import dispatch, selectors, services, streaming
from conversations.models import Conversation, Message
from tests import factories

pytestmark = pytest.mark.django_db


def test_token_is_stored_only_as_a_hash_and_opens_its_conversation() -> None:
    conv, token = services.conversation_create()
    assert token not in conv.token_hash
    assert services.conversation_authenticate(conversation_id=str(conv.id), token=token) == conv
    with pytest.raises(services.TokenInvalid):
        services.conversation_authenticate(conversation_id=str(conv.id), token=token + "x")
    other, _ = services.conversation_create()
    with pytest.raises(services.TokenInvalid):
        services.conversation_authenticate(conversation_id=str(other.id), token=token)
    with pytest.raises(services.ConversationNotFound):
        services.conversation_authenticate(conversation_id=str(uuid.uuid4()), token=token)
    with pytest.raises(services.ConversationNotFound):
        services.conversation_authenticate(conversation_id="not-a-uuid", token=token)


def test_customer_message_gets_next_seq_and_a_pending_reply(django_capture_on_commit_callbacks: Any) -> None:
    conv, _ = factories.conversation()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = factories.customer_message(conv, "Hello")
        second = factories.customer_message(conv, "Are you there?")
    assert first.reply is not None and first.reply.status == Message.Status.PENDING
    assert first.reply.reply_to == first.message and first.reply.seq == 2
    assert second.message.seq == 3
    # The first reply had not started, so the second message superseded it.
    assert [m.seq for m in factories.messages(conv)] == [1, 3, 4]
    # per message, after commit: enqueue its reply, publish it, update the staff inbox, count it
    assert len(callbacks) == 8


def test_resending_a_client_id_creates_nothing(django_capture_on_commit_callbacks: Any) -> None:
    conv, _ = factories.conversation()
    client_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=False):
        first = services.customer_message_create(conversation=conv, text="Hi", client_id=client_id)
        again = services.customer_message_create(conversation=conv, text="Hi", client_id=client_id)
    assert first.created and not again.created
    assert again.message.id == first.message.id
    assert again.reply is not None and first.reply is not None and again.reply.id == first.reply.id
    assert conv.messages.count() == 2


def test_no_reply_is_queued_while_a_human_holds_the_conversation(
    django_capture_on_commit_callbacks: Any,
) -> None:
    conv, _ = factories.conversation(status=Conversation.Status.HUMAN)
    with django_capture_on_commit_callbacks(execute=False):
        result = factories.customer_message(conv)
    assert result.reply is None
    assert [m.role for m in factories.messages(conv)] == ["customer"]


def test_a_takeover_the_socket_has_not_seen_yet_still_stops_the_bot(
    django_capture_on_commit_callbacks: Any,
) -> None:
    conv, _ = factories.conversation()  # the socket's copy says the bot answers
    Conversation.objects.filter(pk=conv.pk).update(status=Conversation.Status.HUMAN)  # staff took it
    with django_capture_on_commit_callbacks(execute=False):
        first = factories.customer_message(conv, "Hello?")
    assert first.reply is None and conv.status == Conversation.Status.HUMAN
    Conversation.objects.filter(pk=conv.pk).update(status=Conversation.Status.BOT)  # handed back
    with django_capture_on_commit_callbacks(execute=False):
        second = factories.customer_message(conv, "Still there?")
    assert second.reply is not None
    assert [(m.seq, m.role) for m in factories.messages(conv)] == [(1, "customer"), (2, "customer"), (3, "assistant")]


@pytest.mark.parametrize(
    ("text", "code"),
    [(None, "invalid"), (42, "invalid"), ("", "invalid"), ("   \n", "invalid"), ("x" * 4001, "too_long")],
)
def test_bad_customer_text_is_refused_with_a_code(text: object, code: str) -> None:
    with pytest.raises(services.InvalidInput) as info:
        services.check_customer_text(text)
    assert info.value.code == code


def test_text_at_the_limit_is_accepted_and_trimmed() -> None:
    assert services.check_customer_text("  " + "x" * 4000 + " ") == "x" * 4000


@pytest.mark.parametrize(
    ("text", "code"),
    [(None, "invalid"), (5, "invalid"), (" ", "invalid"), ("\x00", "invalid"), ("x" * 8001, "too_long")],
)
def test_bad_staff_text_is_refused_with_a_code(text: object, code: str) -> None:
    with pytest.raises(services.InvalidInput) as info:  # "\x00" is blank once its NUL is dropped
        services.check_staff_text(text)
    assert info.value.code == code


def test_a_conversations_origin_keeps_no_nul_and_300_characters() -> None:
    conv, _ = services.conversation_create(origin="https://shop.example/\x00" + "p" * 400)
    conv.refresh_from_db()
    assert conv.origin == ("https://shop.example/" + "p" * 400)[:300]


def test_a_reply_is_claimed_once(django_capture_on_commit_callbacks: Any) -> None:
    conv, _ = factories.conversation()
    with django_capture_on_commit_callbacks(execute=False):
        reply = factories.customer_message(conv).reply
    assert reply is not None
    claimed = services.reply_claim(message_id=str(reply.id))
    assert claimed is not None and claimed.status == Message.Status.STREAMING and claimed.attempts == 1
    assert services.reply_claim(message_id=str(reply.id)) is None
    with django_capture_on_commit_callbacks(execute=False):
        done = services.reply_complete(
            message_id=str(reply.id), text="Hi!", meta={"model_name": "m", "completion_tokens": 3}
        )
    assert done is not None and done.status == Message.Status.COMPLETE and done.completion_tokens == 3
    assert services.reply_claim(message_id=str(reply.id)) is None
    assert services.reply_claim(message_id=str(uuid.uuid4())) is None


def test_a_failed_reply_tells_the_customer_and_flags_a_human(django_capture_on_commit_callbacks: Any) -> None:
    conv, _ = factories.conversation()
    with django_capture_on_commit_callbacks(execute=False):
        reply = factories.customer_message(conv).reply
        assert reply is not None
        services.reply_claim(message_id=str(reply.id))
        failed = services.reply_fail(message_id=str(reply.id), error="boom")
    assert failed is not None
    assert failed.status == Message.Status.FAILED and failed.handoff
    assert "team will take over" in failed.text
    conv.refresh_from_db()
    assert conv.status == Conversation.Status.NEEDS_HUMAN


def test_messages_after_returns_seq_order() -> None:
    conv, _ = factories.conversation(status=Conversation.Status.HUMAN)
    for text in ("one", "two", "three"):
        factories.customer_message(conv, text)
    assert [m.text for m in services.messages_after(conversation=conv, after=1)] == ["two", "three"]


def test_a_new_message_supersedes_a_reply_not_started_yet(django_capture_on_commit_callbacks: Any) -> None:
    conv, _ = factories.conversation()
    with django_capture_on_commit_callbacks(execute=False):
        first = factories.customer_message(conv, "hi")
        second = factories.customer_message(conv, "where is my order?")
    assert first.reply is not None and second.reply is not None
    assert not Message.objects.filter(id=first.reply.id).exists()
    assert [(m.role, m.text) for m in factories.messages(conv)] == [
        ("customer", "hi"),
        ("customer", "where is my order?"),
        ("assistant", ""),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_streaming_reply_is_asked_to_stop_by_a_newer_message_or_the_stop_button(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No task: a worker the session may be running must not claim these replies.
    monkeypatch.setattr(dispatch, "reply_generate", lambda reply_id: None)

    conv, _ = factories.conversation()
    first = factories.customer_message(conv, "hi")
    assert first.reply is not None
    services.reply_claim(message_id=str(first.reply.id))
    assert not streaming.stop_requested(str(first.reply.id))
    factories.customer_message(conv, "actually, one more thing")
    assert streaming.stop_requested(str(first.reply.id))
    assert Message.objects.get(id=first.reply.id).status == Message.Status.STREAMING  # keeps its text
    third = factories.customer_message(conv, "and another")
    assert third.reply is not None
    # Stop: the still-streaming first reply is asked again, the pending newest one is dropped.
    assert services.reply_stop(conversation=conv) == [str(first.reply.id)]
    assert not Message.objects.filter(id=third.reply.id).exists()


def test_a_pending_replys_question_is_readable_until_the_reply_is_claimed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    conv, _ = factories.conversation()
    with django_capture_on_commit_callbacks(execute=False):
        reply = factories.customer_message(conv, "Where do you ship to?").reply
    assert reply is not None
    assert selectors.pending_reply_question(str(reply.id)) == "Where do you ship to?"
    assert services.reply_claim(message_id=str(reply.id)) is not None
    assert selectors.pending_reply_question(str(reply.id)) == ""
    assert selectors.pending_reply_question(str(uuid.uuid4())) == ""
