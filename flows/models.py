"""Events in, replies and effects out: the small frozen vocabulary of every flow."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from flows.broadcast import BroadcastKind, BroadcastState

__all__ = [
    "COMMAND_LINE_ACTOR",
    "ERASED_ACTOR",
    "Achieved",
    "Audience",
    "Audit",
    "Broadcast",
    "Button",
    "CancelBroadcast",
    "Command",
    "ComposeEvent",
    "ComposeOutcome",
    "Composed",
    "Conversation",
    "Count",
    "CreateDraft",
    "DeleteUser",
    "DraftContent",
    "DraftCopy",
    "DraftText",
    "Drafted",
    "Effect",
    "Event",
    "Funnel",
    "KeepUnanswered",
    "Outcome",
    "Plan",
    "Press",
    "PreviewFailed",
    "Profile",
    "RecordFunnel",
    "Reply",
    "Role",
    "ScheduleBroadcast",
    "SetDraftContent",
    "SetDraftPlan",
    "SetLanguage",
    "SetSource",
    "ShowBroadcast",
    "StartBroadcast",
    "State",
    "Status",
    "Subscribe",
    "Tap",
    "Text",
    "Unsubscribe",
    "Unsupported",
]


# Audit actors that are not Telegram users (whose ids are positive).
COMMAND_LINE_ACTOR = 0  # an admin at the machine, e.g. `python -m bot optins export`
ERASED_ACTOR = -1  # a staff member who erased their data: the action stays, who did it goes


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class State(StrEnum):
    """Where a user is in a flow; stored as text."""

    IDLE = "idle"
    LEARNING = "learning"
    ACTING = "acting"
    CONFIRMING_DELETE = "confirming_delete"
    COMPOSING_BROADCAST = "composing_broadcast"
    SCHEDULING_BROADCAST = "scheduling_broadcast"  # typing when a draft (step: its id) goes


class Status(StrEnum):
    """A subscription's status; NONE means the user never subscribed."""

    NONE = "none"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BLOCKED = "blocked"


class Funnel(StrEnum):
    """The campaign's funnel steps, counted once per user."""

    STARTED = "started"
    LEARNED = "learned"
    ASKED = "asked"
    ACTED = "acted"
    SUBSCRIBED = "subscribed"


class Role(StrEnum):
    """What a user may do beyond the public commands."""

    MEMBER = "member"
    ORGANIZER = "organizer"
    ADMIN = "admin"

    def includes(self, needed: Role) -> bool:
        """Tell whether this role has the rights of `needed` (admins may do what organizers do)."""
        order = (Role.MEMBER, Role.ORGANIZER, Role.ADMIN)
        return order.index(self) >= order.index(needed)


class Conversation(_Frozen):
    """A user's place in a flow."""

    state: State = State.IDLE
    step: int = 0


class Profile(_Frozen):
    """What the bot stores about a user, as the flows see it."""

    user_id: int
    lang: str
    first_seen: datetime
    source: str | None = None
    first_name: str | None = None
    username: str | None = None
    status: Status = Status.NONE
    consent_at: datetime | None = None
    consent_method: str | None = None
    consent_version: str | None = None
    changed_at: datetime | None = None
    change_method: str | None = None
    last_seen: datetime | None = None
    steps: tuple[tuple[Funnel, datetime], ...] = ()
    broadcasts: int = 0
    role: Role = Role.MEMBER


class Broadcast(_Frozen):
    """One broadcast: who wrote it, what it sends, to whom, and how far it got."""

    id: int
    author_id: int | None
    chat_id: int | None
    state: BroadcastState
    kind: BroadcastKind | None
    text: str | None
    from_chat_id: int | None
    message_id: int | None
    lang: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status_message_id: int | None
    source: str | None = None
    acted: bool | None = None
    joined_days: int | None = None
    send_at: datetime | None = None  # when the organizer asked for it to go out
    buttons: tuple[str, ...] = ()  # "act", "learn", or a link, under the message

    @property
    def has_content(self) -> bool:
        return self.kind is not None

    @property
    def audience(self) -> Audience:
        return Audience(
            lang=self.lang, source=self.source, acted=self.acted, joined_days=self.joined_days
        )


class Audience(_Frozen):
    """Who a broadcast reaches: active subscribers, narrowed by each condition that is set."""

    lang: str | None = None
    source: str | None = None  # the deep-link source they came from
    acted: bool | None = None  # have said "I did it" (True) or not yet (False)
    joined_days: int | None = None  # subscribed within this many days before it starts


class Achieved(_Frozen):
    """What a broadcast led to, in counts only: taps per button, and recipients who acted or
    unsubscribed within a week after it started."""

    taps: dict[str, int] = {}
    acted: int = 0
    unsubscribed: int = 0


class Plan(_Frozen):
    """What an organizer chose besides the message: audience, time and buttons."""

    audience: Audience = Audience()
    send_at: datetime | None = None
    buttons: tuple[str, ...] = ()


# -- events --------------------------------------------------------------------------------


class Command(_Frozen):
    """A slash command, e.g. `/start flyer-dorchester` is Command(name="start", arg=...)."""

    name: str
    arg: str = ""


class Text(_Frozen):
    """Free text typed by the user."""

    text: str


class Press(_Frozen):
    """A button press; `data` comes from the client and may be forged or stale."""

    data: str


class Unsupported(_Frozen):
    """Anything else: a sticker, photo, edit, or a message in a group."""

    kind: str


Event = Command | Text | Press | Unsupported


class Composed(_Frozen):
    """The message an organizer sent after a bare `/broadcast`, in their chat."""

    message_id: int
    text: str | None = None  # None when it is not a text message (a photo, a document...)


class Drafted(_Frozen):
    """A draft got its content: said by the service once it is written and has an id."""

    broadcast_id: int


class PreviewFailed(_Frozen):
    """Telegram refused to show a draft's preview; `error` is what it said."""

    broadcast_id: int
    error: str


ComposeEvent = Command | Press | Composed | Drafted | PreviewFailed


# -- replies and effects -------------------------------------------------------------------


class Button(_Frozen):
    """An inline button: either `data` sent back to us, or a `url` opened by the client."""

    label: str
    data: str | None = None
    url: str | None = None


class Reply(_Frozen):
    """One message to show; `edit` replaces the message whose button was pressed."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = False


class Subscribe(_Frozen):
    """Record consent: how it was given and which version of which language's text."""

    method: str
    version: str


class Unsubscribe(_Frozen):
    method: str


class SetLanguage(_Frozen):
    lang: str


class SetSource(_Frozen):
    source: str


class RecordFunnel(_Frozen):
    step: Funnel


class DeleteUser(_Frozen):
    pass


class Count(_Frozen):
    """Add one to an anonymous daily counter (answered, declined, urgent)."""

    name: str


class KeepUnanswered(_Frozen):
    """Keep a declined question, already scrubbed, with nothing naming who asked."""

    question: str
    lang: str


class DraftText(_Frozen):
    """A broadcast of our own HTML text."""

    text: str


class DraftCopy(_Frozen):
    """A broadcast that copies a message, of any kind, from the organizer's chat."""

    from_chat_id: int
    message_id: int


DraftContent = DraftText | DraftCopy


class CreateDraft(_Frozen):
    """Open a draft by the user, shown in `chat_id`, for the plan's audience, time, buttons."""

    chat_id: int
    plan: Plan = Plan()
    content: DraftContent | None = None  # None: the next message will be its content


class SetDraftContent(_Frozen):
    broadcast_id: int
    content: DraftContent


class StartBroadcast(_Frozen):
    """Move the user's ready draft to sending, with the active subscribers as recipients."""

    broadcast_id: int
    status_message_id: int | None = None  # the message the sender edits with its progress


class SetDraftPlan(_Frozen):
    """Change a draft's audience, time or buttons; with `preview`, show it again afterwards."""

    broadcast_id: int
    plan: Plan
    preview: bool = False


class ScheduleBroadcast(_Frozen):
    """Confirm a ready draft to start by itself at its `send_at`."""

    broadcast_id: int


class Tap(_Frozen):
    """Count one tap on a broadcast's button (nothing says who tapped)."""

    broadcast_id: int
    button: str


class CancelBroadcast(_Frozen):
    """Cancel a draft, or stop a broadcast that is sending."""

    broadcast_id: int


class Audit(_Frozen):
    """Append an entry to the audit log, in the user's name."""

    action: str
    detail: str


Effect = (
    Subscribe
    | Unsubscribe
    | SetLanguage
    | SetSource
    | RecordFunnel
    | DeleteUser
    | Count
    | KeepUnanswered
    | CreateDraft
    | SetDraftContent
    | StartBroadcast
    | ScheduleBroadcast
    | SetDraftPlan
    | Tap
    | CancelBroadcast
    | Audit
)


class Outcome(_Frozen):
    """What a flow decided: the new place, the replies, and what to record."""

    conversation: Conversation
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...] = ()


class ShowBroadcast(_Frozen):
    """Send a broadcast's own message to the organizer, exactly as subscribers will see it.

    With `preview`, a message Telegram refuses is reported back (`PreviewFailed`), not raised:
    it must not become a broadcast.
    """

    broadcast: Broadcast
    preview: bool = False
    buttons: tuple[tuple[Button, ...], ...] = ()  # under it, as in the organizer's language


class ComposeOutcome(Outcome):
    """What the broadcast flow decided; `show` comes before the replies."""

    show: ShowBroadcast | None = None
