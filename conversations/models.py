"""Conversations and their messages: nothing a customer wrote is ever lost."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings
from django.db import models


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Customer(models.Model):
    """A signed-in customer of the host site, as its verified identity names them
    (conversations/identity.py): their conversations follow them across devices."""

    # The host site's own id for the customer; exactly what it signed.
    user_id = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "user_id"]

    def __str__(self) -> str:
        return self.name or self.email or self.user_id


class Conversation(models.Model):
    class Status(models.TextChoices):
        BOT = "bot", "Bot answering"
        NEEDS_HUMAN = "needs_human", "Needs a human"
        HUMAN = "human", "Human has it"
        CLOSED = "closed", "Closed"

    # The statuses in which the bot answers customer messages.
    BOT_ANSWERS: tuple[str, ...] = (Status.BOT, Status.NEEDS_HUMAN)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # SHA-256 of the customer's bearer token; the token itself is never stored.
    token_hash = models.CharField(max_length=64, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOT)
    # Highest seq handed out; bumped atomically by message_create.
    last_seq = models.PositiveIntegerField(default=0, editable=False)
    origin = models.CharField(max_length=300, blank=True, help_text="Page the widget ran on.")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The signed-in customer, when the host site passed a verified identity; anonymous otherwise.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    # Where the customer asked to be answered, left after an out-of-hours handoff.
    contact_email = models.EmailField(max_length=254, blank=True)
    # When the customer was told the team is offline (a handoff outside SUPPORT_HOURS).
    offline_notice_at = models.DateTimeField(null=True, blank=True)
    # The customer's 1-5 rating when the conversation ends.
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True)
    # When the bot last handed the conversation over (status went to needs_human), and when a
    # person first took it after that (a takeover or an agent reply): time to pickup.
    needs_human_since = models.DateTimeField(null=True, blank=True, db_index=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Conversation {str(self.id)[:8]} ({self.get_status_display()})"

    def token_matches(self, token: str) -> bool:
        return hmac.compare_digest(self.token_hash, token_digest(token))

    @property
    def bot_answers(self) -> bool:
        return self.status in self.BOT_ANSWERS


class ConversationToken(models.Model):
    """A further bearer token of a conversation: one per device that resumed it with the
    customer's verified identity, so every device keeps working (the conversation's own
    ``token_hash`` stays the first device's)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Device token of {self.conversation_id} ({self.created_at:%Y-%m-%d %H:%M})"


class Message(models.Model):
    class Role(models.TextChoices):
        CUSTOMER = "customer"
        ASSISTANT = "assistant"
        AGENT = "agent"
        SYSTEM = "system"

    class Status(models.TextChoices):
        PENDING = "pending"
        STREAMING = "streaming"
        COMPLETE = "complete"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    client_id = models.UUIDField(null=True, blank=True)
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Grounding
    sources = models.JSONField(default=list, blank=True)
    grounded = models.BooleanField(default=False)
    handoff = models.BooleanField(default=False)

    # How an assistant reply was made: "model" (the model wrote it and the gate passed every
    # sentence), "quote" (the knowledge base's sentences as they stand), "handoff", "smalltalk",
    # "declined", "stopped" or "failed". A system message: "notice", or "offline" (the team is
    # out of hours; the widget offers to leave an email under it). Empty for other roles.
    mode = models.CharField(max_length=16, blank=True)
    # Generation metadata (assistant messages)
    model_name = models.CharField(max_length=300, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    queued_ms = models.PositiveIntegerField(null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    # From the customer's message stored to the reply's first text sent to the customer.
    first_delta_ms = models.PositiveIntegerField(null=True, blank=True)
    generation_ms = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Customer feedback on a bot reply: 1 thumbs up, -1 thumbs down.
    feedback = models.SmallIntegerField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_for_training = models.BooleanField(default=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The worker generating this reply holds it until ``lease_expires_at`` (database time) and
    # renews it while it streams; once it lapses, another worker may take the reply over.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="message_client_id_unique",
            ),
        ]
        indexes = [models.Index(fields=["status", "role"], name="message_status_role")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.role}: {self.text[:40]}"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.COMPLETE, self.Status.FAILED)


class Note(models.Model):
    """An internal note on a conversation: staff only, never sent to the customer."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Note on {self.conversation_id}: {self.text[:40]}"


class SavedReply(models.Model):
    """A canned response staff insert into the reply box and edit before sending. ``{name}``-style
    placeholders are filled in the console where it knows the value, and left for the agent
    otherwise."""

    title = models.CharField(max_length=120, unique=True)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "saved replies"

    def __str__(self) -> str:
        return self.title


class AuditLog(models.Model):
    """Who did what to whose data: data-subject exports and deletions, purges."""

    class Action(models.TextChoices):
        EXPORT = "export"
        DELETE = "delete"
        PURGE = "purge"

    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.CharField(max_length=150, help_text="User name, or 'system' for scheduled purges.")
    conversation_id = models.UUIDField(null=True, blank=True, db_index=True)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.conversation_id or ''}"
