"""The one place that writes conversations and messages, by domain.

Callers (consumer, API views, admin, Celery tasks) validate with ``check_*``, call one
function here and forward its result: ``from conversations import services;
services.customer_message_receive(...)``. Every write is one transaction; events reach the
conversation's channel-layer group only after that transaction commits.

- ``messages``: conversations and what customers send (with the pending reply), and their
  requests for a person;
- ``replies``: the bot's replies, from enqueue to complete, failed or swept up;
- ``staff``: takeover and hand-back (with their notices), agent replies and typing, notes,
  training approval;
- ``privacy``: retention and data-subject requests;
- ``customers``: signed-in customers' verified identities, resuming on another device;
- ``offline``: the out-of-hours notice on a handoff, and the email a customer leaves;
- ``common``: errors, validation, the seq allocator, events after commit.
"""

from __future__ import annotations

from conversations.services.common import (
    STAFF_TEXT_MAX_CHARS,
    ConversationNotFound,
    IdentityRefused,
    InvalidInput,
    TokenInvalid,
    check_client_id,
    check_customer_text,
    check_seq,
    check_staff_text,
    conversation_flag_for_human,
    conversation_pickup_record,
)
from conversations.services.customers import (
    check_identity,
    conversation_resume,
    customer_identify,
    identified_conversation_create,
)
from conversations.services.messages import (
    CustomerMessageResult,
    conversation_authenticate,
    conversation_create,
    conversation_handoff_request,
    conversation_rate,
    customer_message_create,
    customer_message_receive,
    message_feedback,
    messages_after,
)
from conversations.services.offline import (
    check_contact_email,
    conversation_contact_set,
    offline_notice_on_handoff,
    support_schedule,
)
from conversations.services.privacy import (
    conversation_delete,
    conversation_export,
    conversations_delete,
    conversations_export,
    conversations_purge,
    conversations_to_purge,
)
from conversations.services.replies import (
    FAILED_REPLY_TEXT,
    ReplyLease,
    ReplyLeaseLost,
    ReplyMeta,
    replies_sweep,
    reply_claim,
    reply_complete,
    reply_fail,
    reply_lease_bound,
    reply_leases_renew,
    reply_progress,
    reply_release,
    reply_requeue,
    reply_stop,
)
from conversations.services.staff import (
    agent_message_create,
    agent_typing,
    conversation_handback,
    conversation_takeover,
    messages_approve,
    note_create,
)

__all__ = [
    "FAILED_REPLY_TEXT",
    "STAFF_TEXT_MAX_CHARS",
    "ConversationNotFound",
    "CustomerMessageResult",
    "IdentityRefused",
    "InvalidInput",
    "ReplyLease",
    "ReplyLeaseLost",
    "ReplyMeta",
    "TokenInvalid",
    "agent_message_create",
    "agent_typing",
    "check_client_id",
    "check_contact_email",
    "check_customer_text",
    "check_identity",
    "check_seq",
    "check_staff_text",
    "conversation_authenticate",
    "conversation_contact_set",
    "conversation_create",
    "conversation_delete",
    "conversation_export",
    "conversation_flag_for_human",
    "conversation_handback",
    "conversation_handoff_request",
    "conversation_pickup_record",
    "conversation_rate",
    "conversation_resume",
    "conversation_takeover",
    "conversations_delete",
    "conversations_export",
    "conversations_purge",
    "conversations_to_purge",
    "customer_identify",
    "customer_message_create",
    "customer_message_receive",
    "identified_conversation_create",
    "message_feedback",
    "messages_after",
    "messages_approve",
    "note_create",
    "offline_notice_on_handoff",
    "replies_sweep",
    "reply_claim",
    "reply_complete",
    "reply_fail",
    "reply_lease_bound",
    "reply_leases_renew",
    "reply_progress",
    "reply_release",
    "reply_requeue",
    "reply_stop",
    "support_schedule",
]
