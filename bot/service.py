"""The brain with its memory: load a user's state, run the flow, record what it decided.

Shared by the Telegram adapter and the terminal chat, so both behave the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import flows.compose
from bot.config import Settings
from flows.broadcast import BroadcastState
from flows.content import Content
from flows.engine import Context, handle
from flows.faq import FaqIndex
from flows.listen import Listener
from flows.models import (
    Audit,
    CancelBroadcast,
    ComposeEvent,
    ComposeOutcome,
    Conversation,
    Count,
    CreateDraft,
    DeleteUser,
    DraftContent,
    Drafted,
    DraftText,
    Event,
    KeepUnanswered,
    Outcome,
    Profile,
    RecordFunnel,
    Reply,
    Role,
    ScheduleBroadcast,
    SetDraftContent,
    SetDraftPlan,
    SetLanguage,
    SetSource,
    StartBroadcast,
    Status,
    Subscribe,
    Tap,
    Unsubscribe,
)
from storage import Database
from storage.fitted import FileStore

__all__ = ["Outreach", "Prepared", "Who", "prepare", "utcnow"]

logger = logging.getLogger(__name__)

# Broadcasts whose audience is counted for the organizer: not yet started.
_COUNTED = (BroadcastState.DRAFT, BroadcastState.SCHEDULED)

HOUSEKEEPING_SECONDS = 24 * 3600


def utcnow() -> datetime:
    """Return the current moment in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Who:
    """The person behind an event, as the chat service describes them."""

    user_id: int
    language_code: str | None = None
    first_name: str | None = None
    username: str | None = None

    @classmethod
    def of(cls, user: Any) -> Who:
        """Describe a chat service's user (anything with Telegram's user attributes)."""
        return cls(user.id, user.language_code, user.first_name, user.username)


@dataclass(frozen=True)
class Prepared:
    """A campaign ready to serve: its content and what answering builds from it."""

    content: Content
    faq: dict[str, FaqIndex]
    listener: Listener


def prepare(content: Content) -> Prepared:
    """Build the knowledge indexes and the listener of a campaign (CPU-bound; may take a
    second, so a running bot calls it off the event loop)."""
    store = FileStore()
    faq = {lang: FaqIndex.from_content(content, lang, store) for lang in content.packs}
    for lang, index in faq.items():
        if index.too_big:
            logger.warning(
                "%s/faq.yaml is too big for the classifier: the word index alone answers, "
                "less accurately (see README, How typed questions are answered)",
                lang,
            )
    return Prepared(content, faq, Listener(content))


class Outreach:
    """Runs flows for users, keeping their state in the database."""

    content: Content
    faq: dict[str, FaqIndex]
    listener: Listener

    def __init__(
        self,
        settings: Settings,
        content: Content | Prepared,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.bot_username: str | None = None
        self.use(content if isinstance(content, Prepared) else prepare(content))

    def use(self, prepared: Prepared) -> None:
        """Serve another campaign from the next event on, in one step.

        An event being handled keeps the campaign its context was built with; what people
        are in the middle of is in the database, so their next event continues with this one.
        """
        self.content, self.faq, self.listener = prepared.content, prepared.faq, prepared.listener

    async def tidy(self) -> None:
        """Drop what may no longer be kept: old questions, silent people, names if not wanted.

        Run at start-up and once a day (`housekeeping`), in every mode.
        """
        now, settings = self.clock(), self.settings
        erased = 0
        if not settings.store_names:
            erased = await self.db.users.forget_names()
            if erased:
                logger.info("STORE_NAMES is off: erased the names of %d users", erased)
        questions = await self.db.questions.purge(
            now - timedelta(days=settings.question_retention_days)
        )
        silent = await self.db.users.inactive(now - timedelta(days=settings.inactive_user_days))
        for user_id in silent:
            await self._forget(user_id)
        await self.db.commit()
        if questions or silent:
            logger.info(
                "retention: purged %d declined questions, forgot %d silent people",
                questions,
                len(silent),
            )
        if erased or questions or silent:
            await self.db.checkpoint()

    async def housekeeping(
        self, every: float = HOUSEKEEPING_SECONDS, lock: asyncio.Lock | None = None
    ) -> None:
        """Run `tidy` every `every` seconds until cancelled; a failure waits for the next.

        With `lock` (the one updates hold around their transaction), never inside another's.
        """
        while True:
            await asyncio.sleep(every)
            async with lock or contextlib.nullcontext():
                try:
                    await self.tidy()
                except Exception:
                    await self.db.rollback()
                    logger.exception("housekeeping failed; trying again later")

    def role(self, user_id: int) -> Role:
        """Return the user's role from the settings (checked on every call)."""
        if self.settings.is_admin(user_id):
            return Role.ADMIN
        if self.settings.is_organizer(user_id):
            return Role.ORGANIZER
        return Role.MEMBER

    def first_language(self, language_code: str | None) -> str:
        """Pick an offered language from the client's, else the configured default."""
        code = (language_code or "").split("-")[0].lower()
        if code in self.content.packs:
            return code
        if self.settings.default_language in self.content.packs:
            return self.settings.default_language
        return self.content.campaign.default_language

    async def profile(self, who: Who) -> Profile:
        """Return the stored profile, creating the user on first contact."""
        return (await self._load(who))[0]

    async def _load(self, who: Who) -> tuple[Profile, Conversation]:
        """Read the user and their place in a flow (one query), creating them on first contact."""
        found = await self.db.users.load(who.user_id)
        if found is None:
            keep = self.settings.store_names
            await self.db.users.ensure(
                who.user_id,
                lang=self.first_language(who.language_code),
                now=self.clock(),
                first_name=who.first_name if keep else None,
                username=who.username if keep else None,
            )
            found = await self.db.users.load(who.user_id)
            assert found is not None
        profile, conversation = found
        return profile.model_copy(update={"role": self.role(who.user_id)}), conversation

    async def context(self, who: Who) -> Context:
        """Load everything a flow needs for this user."""
        profile, conversation = await self._load(who)
        return Context(
            content=self.content,
            profile=profile,
            conversation=conversation,
            faq=self.faq,
            listener=self.listener,
            bot_username=self.bot_username,
            question_days=self.settings.question_retention_days,
            inactive_days=self.settings.inactive_user_days,
        )

    async def handle(self, who: Who, event: Event) -> list[Reply]:
        """Run one event through the flows and store the outcome."""
        try:
            ctx = await self.context(who)
            outcome = handle(event, ctx)
            await self.apply(who.user_id, outcome)
            await self.db.commit()
        except Exception:
            await self.db.rollback()
            raise
        if any(isinstance(effect, DeleteUser) for effect in outcome.effects):
            await self.db.checkpoint()  # the erased rows must leave the WAL file too
        return list(outcome.replies)

    async def compose(
        self, who: Who, event: ComposeEvent, *, chat_id: int, pressed: int | None = None
    ) -> ComposeOutcome:
        """Run one organizer event through the broadcast flow and store the outcome.

        An outcome that gave a draft its content is followed, in the same transaction, by
        `Drafted`: the draft's id, which its preview's buttons carry, exists only once written.
        """
        try:
            # Under the write lock, what the flow was shown (the draft, its audience) is
            # still true when its effects are recorded.
            await self.db.outbox.hold()
            outcome = await self._compose(who, event, chat_id, pressed)
            drafted = await self.apply(who.user_id, outcome)
            if drafted is not None:
                preview = await self._compose(who, Drafted(broadcast_id=drafted), chat_id, None)
                await self.apply(who.user_id, preview)
                outcome = preview.model_copy(
                    update={
                        "replies": outcome.replies + preview.replies,
                        "effects": outcome.effects + preview.effects,
                    }
                )
            await self.db.commit()
        except Exception:
            await self.db.rollback()
            raise
        return outcome

    async def _compose(
        self, who: Who, event: ComposeEvent, chat_id: int, pressed: int | None
    ) -> ComposeOutcome:
        """Load what the broadcast flow needs for this event, and run it."""
        member = await self.context(who)
        outbox, needs = self.db.outbox, flows.compose.needs(event, member.conversation)
        broadcast = None
        if needs.broadcast_id is not None:
            broadcast = await outbox.get(needs.broadcast_id)
        elif needs.open_draft:
            broadcast = await outbox.open_draft(who.user_id)
        audience = 0
        if broadcast is not None and broadcast.state in _COUNTED:
            audience = await outbox.audience(broadcast.audience, self.clock())
        recent = await outbox.recent(flows.compose.RECENT) if needs.recent else []
        achieved = {b.id: await outbox.achieved(b) for b, _ in recent if b.started_at}
        sources = await outbox.sources() if needs.sources else []
        ctx = flows.compose.Context(
            member=member,
            chat_id=chat_id,
            broadcast=broadcast,
            audience=audience,
            recent=tuple(recent),
            achieved=achieved,
            pressed=pressed,
            now=self.clock(),
            sources=tuple(sources),
        )
        return flows.compose.handle(event, ctx)

    async def apply(self, user_id: int, outcome: Outcome) -> int | None:
        """Record a flow's outcome: its effects, then the user's new place.

        Return the id of a draft that got its content (or a new plan to preview), if any.
        """
        now = self.clock()
        drafted = None
        for effect in outcome.effects:
            match effect:
                case DeleteUser():
                    await self._forget(user_id)
                    logger.info("a user erased their data")
                    return None  # nothing more may name them
                case Subscribe(method=method, version=version):
                    await self.db.subscriptions.subscribe(
                        user_id, method=method, consent_version=version, now=now
                    )
                case Unsubscribe(method=method):
                    await self.db.subscriptions.set_status(
                        user_id, Status.UNSUBSCRIBED, method=method, now=now
                    )
                case SetLanguage(lang=lang):
                    await self.db.users.set_language(user_id, lang)
                case SetSource(source=source):
                    await self.db.users.set_source(user_id, source)
                case RecordFunnel(step=step):
                    await self.db.funnel.record(user_id, step, now)
                case Count(name=name):
                    await self.db.questions.count(name, now)
                case KeepUnanswered(question=question, lang=lang):
                    await self.db.questions.record_unanswered(question, lang, now)
                case CreateDraft(chat_id=chat_id, plan=plan, content=content):
                    draft_id = await self.db.outbox.create_draft(user_id, chat_id, plan, now)
                    if content is not None:
                        await self._set_content(draft_id, content)
                        drafted = draft_id
                case SetDraftContent(broadcast_id=draft_id, content=content):
                    await self._set_content(draft_id, content)
                    drafted = draft_id
                case StartBroadcast(broadcast_id=broadcast_id, status_message_id=message_id):
                    if await self.db.outbox.start(broadcast_id, user_id, now) is None:
                        raise RuntimeError(f"broadcast {broadcast_id} was not a ready draft")
                    if message_id is not None:
                        await self.db.outbox.set_status_message(broadcast_id, message_id)
                case SetDraftPlan(broadcast_id=draft_id, plan=plan, preview=preview):
                    if not await self.db.outbox.set_plan(draft_id, plan):
                        raise RuntimeError(f"broadcast {draft_id} was not a draft")
                    if preview:
                        drafted = draft_id
                case ScheduleBroadcast(broadcast_id=broadcast_id):
                    if not await self.db.outbox.schedule(broadcast_id, user_id):
                        raise RuntimeError(f"broadcast {broadcast_id} was not a ready draft")
                case Tap(broadcast_id=broadcast_id, button=button):
                    await self.db.outbox.tap(broadcast_id, button)
                case CancelBroadcast(broadcast_id=broadcast_id):
                    if not await self.db.outbox.cancel(broadcast_id, now):
                        raise RuntimeError(
                            f"broadcast {broadcast_id} was neither draft nor sending"
                        )
                case Audit(action=action, detail=detail):
                    await self.db.audit.record(user_id, action, detail, now)
        await self.db.users.save_conversation(user_id, outcome.conversation, now)
        return drafted

    async def _set_content(self, draft_id: int, content: DraftContent) -> None:
        if isinstance(content, DraftText):
            await self.db.outbox.set_text(draft_id, content.text)
        else:
            await self.db.outbox.set_copy(draft_id, content.from_chat_id, content.message_id)

    async def _forget(self, user_id: int) -> None:
        await self.db.users.delete(user_id)
        await self.db.audit.forget(user_id)
        await self.db.outbox.forget(user_id)

    async def mark_blocked(self, user_id: int, *, method: str) -> None:
        """Record that a subscriber can no longer be reached (blocked, deactivated)."""
        await self.db.subscriptions.mark_blocked([user_id], method=method, now=self.clock())
        await self.db.commit()

    def error_text(self, lang: str | None = None) -> str:
        """Return the friendly text shown when something failed on our side."""
        return self.content.fill(self.content.pack(lang).texts.error)
