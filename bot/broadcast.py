"""The broadcast sender: delivers the outbox to Telegram, paced, resumable, at most once.

Each recipient row is committed as 'sending' (in small batches) before its request leaves,
and its outcome is recorded afterwards (also in batches). A row still 'sending' when the
process starts again may have been delivered, so it becomes 'unknown' and is never resent.
The sender has its own database connection, so the handlers' transactions never mix with
its commits, and its own `telegram.Bot` (aiohttp underneath, no retrying rate limiter: the
sender decides what to resend). Its messages draw from the bot's shared `SendBudget` as bulk
requests: replies to people go first, broadcasts take what they leave, and a 429 pauses both.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    ChatMigrated,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from bot.config import Settings
from bot.delivery import classify, deliver
from bot.limits import SendBudget, retry_after_seconds
from bot.logs import redact
from bot.render import keyboard
from bot.service import utcnow
from bot.transport import AiohttpRequest
from flows.broadcast import (
    BroadcastState,
    Counts,
    Decision,
    Failure,
    Pacer,
    RateMeter,
    RecipientState,
    RetryPolicy,
    clock_text,
    decide,
)
from flows.content import BroadcastTexts, Content
from flows.organizer import achieved_line, broadcast_buttons, stop_row
from storage import Database, open_database
from storage.outbox import Broadcast, Recipient, Result

__all__ = ["FREE_RATE", "BroadcastSender", "broadcast_rate"]

logger = logging.getLogger(__name__)

FREE_RATE = 30.0  # Telegram's documented limit for all chats together without paid broadcasts
IDLE_POLL = 30.0  # seconds between looks at the outbox when nobody wakes the sender
STOP_GRACE = 15.0  # seconds a clean stop waits for requests already on the wire
T = TypeVar("T")


def broadcast_rate(settings: Settings) -> float:
    """Return the messages per second to send at: BROADCAST_RATE, capped unless paid."""
    if settings.broadcast_paid:
        return settings.broadcast_rate
    return min(settings.broadcast_rate, FREE_RATE)


@dataclass
class _Job:
    """One broadcast being sent by this process."""

    broadcast: Broadcast
    counts: Counts
    texts: BroadcastTexts
    started: float = field(default_factory=time.monotonic)
    queue: deque[Recipient] = field(default_factory=deque)
    results: list[Result] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)
    inflight: set[asyncio.Task[None]] = field(default_factory=set)
    meter: RateMeter = field(default_factory=RateMeter)
    live: bool = True  # False once the database says it is no longer 'sending'
    langs: dict[int, str] = field(default_factory=dict)  # claimed recipients' languages
    markups: dict[str, InlineKeyboardMarkup | None] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.broadcast.id

    def move(self, old: RecipientState, new: RecipientState) -> None:
        self.counts = self.counts.moved(old, new)


@dataclass
class SenderStats:
    """The 429s this sender met since it started (for tests and the benchmark)."""

    rate_limited: int = 0


class BroadcastSender:
    """Deliver every 'sending' broadcast from the outbox, one after another."""

    def __init__(
        self,
        settings: Settings,
        content: Content,
        *,
        clock: Callable[[], datetime] = utcnow,
        policy: RetryPolicy | None = None,
        progress_every: float = 3.0,
        read_timeout: float = 10.0,
        max_inflight: int | None = None,
        budget: SendBudget | None = None,
    ) -> None:
        self.settings = settings
        self.content = content
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.progress_every = progress_every
        self.rate = broadcast_rate(settings)
        self.pacer = Pacer(self.rate)
        # Paid broadcasts are outside Telegram's free limit: they need no share of the budget.
        self.budget = None if settings.broadcast_paid else budget
        self.stats = SenderStats()
        # Claim about a tenth of a second of sends at a time: few commits, few rows at risk.
        self.batch = max(1, min(500, math.ceil(self.rate / 10)))
        self.max_inflight = max_inflight or max(4, min(128, math.ceil(self.rate / 5)))
        self._read_timeout = read_timeout
        self._db: Database | None = None
        self._bot: Bot | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._cancelled: set[int] = set()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the outbox, mark interrupted rows 'unknown', and resume unfinished broadcasts."""
        if self.settings.broadcast_rate > self.rate:
            logger.warning(
                "BROADCAST_RATE %s is above Telegram's free limit; sending at %s per second "
                "(set BROADCAST_PAID=true for more)",
                self.settings.broadcast_rate,
                self.rate,
            )
        self._db = await open_database(self.settings.database_path)
        try:
            interrupted = await self._db.outbox.recover()
            await self._db.commit()
            if interrupted:
                logger.warning(
                    "%d broadcast messages were interrupted: counted as unknown", interrupted
                )
            self._bot = self._make_bot()
            await self._bot.initialize()
            # Before the loop: a broadcast whose time came while the bot was down starts now,
            # and one whose time has not come is known to be waiting when start() returns.
            await self._start_due()
        except InvalidToken:
            await self._close()
            raise InvalidToken("the bot token was rejected by the server") from None
        except BaseException:
            await self._close()
            raise
        self._task = asyncio.create_task(self._main(), name="broadcast-sender")

    def _make_bot(self) -> Bot:
        """Build the sender's own client: no AIORateLimiter, aiohttp underneath."""
        token = self.settings.token
        assert token is not None
        api = self.settings.telegram_api_url
        request = AiohttpRequest(self.max_inflight + 2, read_timeout=self._read_timeout)
        return Bot(token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot", request=request)

    async def stop(self) -> None:
        """Finish requests on the wire, put unsent claimed rows back, and close."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, STOP_GRACE + 5)
            except Exception:
                logger.exception("the broadcast sender did not stop cleanly")
        await self._close()

    async def _close(self) -> None:
        if self._bot is not None:
            await self._bot.shutdown()
            self._bot = None
        if self._db is not None:
            await self._db.close()
            self._db = None

    def wake(self) -> None:
        """Look at the outbox now (a broadcast was started)."""
        self._wakeup.set()

    def cancel(self, broadcast_id: int) -> None:
        """Stop sending a broadcast at once (its row is already 'cancelled')."""
        self._cancelled.add(broadcast_id)
        self._wakeup.set()

    # -- the loop ------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        assert self._db is not None
        return self._db

    @property
    def bot(self) -> Bot:
        assert self._bot is not None
        return self._bot

    async def _locked(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run one transaction on the sender's connection, committing or rolling back."""
        async with self._lock:
            try:
                result = await work()
                await self.db.commit()
            except BaseException:
                await self.db.rollback()
                raise
            return result

    async def _main(self) -> None:
        while not self._stopping:
            try:
                await self._start_due()
                for broadcast_id in await self.db.outbox.unfinished():
                    if self._stopping:
                        break
                    await self._run(broadcast_id)
                due = await self.db.outbox.next_scheduled()
            except Exception:
                # Keep the sender alive: the outbox keeps every row's state, so retry later.
                logger.exception("broadcast sending failed; retrying shortly")
                await self._nap(5.0)
                continue
            wait = IDLE_POLL
            if due is not None:
                wait = min(wait, max(0.0, (due - self.clock()).total_seconds()))
            await self._nap(wait)

    async def _start_due(self) -> None:
        """Start the scheduled broadcasts whose time has come, each once (the row's state is
        the guard: a restart finds them 'sending' or still scheduled, never both)."""
        now = self.clock()

        async def start() -> list[int]:
            return await self.db.outbox.start_due(now)

        for broadcast_id in await self._locked(start):
            logger.info("broadcast %d: its scheduled time has come", broadcast_id)

    async def _nap(self, seconds: float) -> None:
        """Sleep until woken (new broadcast, cancel, stop) or `seconds` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)
        self._wakeup.clear()

    async def _run(self, broadcast_id: int) -> None:
        broadcast = await self.db.outbox.get(broadcast_id)
        if broadcast is None or broadcast.finished_at is not None:
            return
        job = _Job(
            broadcast, await self.db.outbox.counts(broadcast_id), await self._texts(broadcast)
        )
        logger.info("broadcast %d: %d to send", job.id, job.counts.remaining)
        reporter = asyncio.create_task(self._report(job))
        try:
            await self._pump(job)
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        if not self._stopping:
            await self._finish(job)

    def _halted(self, job: _Job) -> bool:
        return self._stopping or not job.live or job.id in self._cancelled

    async def _pump(self, job: _Job) -> None:
        """Feed claimed rows to requests, paced and bounded, until none is left."""
        slots = asyncio.Semaphore(self.max_inflight)
        refill: asyncio.Task[None] | None = None
        try:
            while not self._halted(job):
                if len(job.queue) <= self.batch // 2 and (refill is None or refill.done()):
                    if refill is not None:
                        await refill  # surface its error, if any
                    refill = asyncio.create_task(self._sync(job))
                if not job.queue:
                    if refill is not None:
                        await refill
                    refill = None
                    if not job.queue and not await self._idle(job):
                        return
                    continue
                await slots.acquire()
                row = job.queue[0]
                if not await self._paced(job, row.chat_id):
                    slots.release()
                    break
                job.queue.popleft()
                task = asyncio.create_task(self._attempt(job, row, slots))
                job.inflight.add(task)
                task.add_done_callback(job.inflight.discard)
        finally:
            await self._wind_down(job, refill)

    async def _idle(self, job: _Job) -> bool:
        """With nothing claimed, wait for answers or retries; False when all is done."""
        if job.inflight:
            await asyncio.wait(job.inflight, return_when=asyncio.FIRST_COMPLETED)
            return True
        if job.results or job.blocked:
            return True  # the next sync records them
        due = await self.db.outbox.next_due(job.id)
        if due is None or not job.live:
            return False
        await self._nap(min(max(0.0, due - time.time()), IDLE_POLL))
        return True

    async def _paced(self, job: _Job, chat_id: int) -> bool:
        """Wait for a send slot, then for the shared budget; False if halted meanwhile."""
        while not self._halted(job):
            now = time.monotonic()
            wait = self.pacer.wait(now)
            if wait <= 0:
                self.pacer.take(now)
                break
            if wait > 0.2:
                await self._nap(wait)  # a 429 pause: stay responsive to cancel and stop
            else:
                await asyncio.sleep(wait)
        else:
            return False
        if self.budget is None:
            return True
        turn = asyncio.ensure_future(self.budget.acquire(chat_id, bulk=True))
        while not turn.done():
            # People's replies go first: a busy bot may keep the turn waiting; stay
            # responsive to cancel and stop meanwhile.
            woken = asyncio.ensure_future(self._wakeup.wait())
            await asyncio.wait({turn, woken}, return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()
            if not turn.done() and self._halted(job):
                turn.cancel()
                return False
            self._wakeup.clear()
        return True

    async def _wind_down(self, job: _Job, refill: asyncio.Task[None] | None) -> None:
        """Wait for requests on the wire, then record them and release unsent rows."""
        if refill is not None:
            with contextlib.suppress(Exception):
                await refill
        if job.inflight:
            _, late = await asyncio.wait(set(job.inflight), timeout=STOP_GRACE)
            for task in late:
                task.cancel()  # their rows stay 'sending' and are counted unknown at restart
        unsent = list(job.queue)
        job.queue.clear()

        async def release() -> None:
            await self._record(job)
            await self.db.outbox.release(job.id, (row.user_id for row in unsent))

        await self._locked(release)
        for _ in unsent:
            job.move(RecipientState.SENDING, RecipientState.PENDING)

    async def _sync(self, job: _Job) -> None:
        """Record finished attempts and claim the next rows, in one transaction."""

        async def work() -> list[Recipient]:
            await self._record(job)
            state = await self._state(job.id)
            job.live = state is BroadcastState.SENDING
            if not job.live:
                return []
            rows = await self.db.outbox.claim(job.id, self.batch, time.time())
            if len(rows) < self.batch and (added := await self.db.outbox.fill(job.id)):
                job.counts = dataclasses.replace(job.counts, pending=job.counts.pending + added)
                rows += await self.db.outbox.claim(job.id, self.batch - len(rows), time.time())
            if job.broadcast.buttons:  # labelled in each recipient's language
                job.langs.update(await self.db.users.languages([r.user_id for r in rows]))
            return rows

        for row in await self._locked(work):
            job.queue.append(row)
            job.move(RecipientState.PENDING, RecipientState.SENDING)

    async def _state(self, broadcast_id: int) -> BroadcastState | None:
        found = await self.db.outbox.get(broadcast_id)
        return found.state if found else None

    async def _record(self, job: _Job) -> None:
        """Write buffered outcomes (inside the caller's transaction)."""
        results, job.results = job.results, []
        blocked, job.blocked = job.blocked, []
        try:
            if results:
                await self.db.outbox.record(job.id, results)
            if blocked:
                await self.db.subscriptions.mark_blocked(
                    blocked, method="broadcast", now=self.clock()
                )
        except BaseException:
            job.results[:0], job.blocked[:0] = results, blocked
            raise

    async def _attempt(self, job: _Job, row: Recipient, slots: asyncio.Semaphore) -> None:
        """Send to one recipient and buffer the outcome."""
        try:
            await deliver(
                self.bot,
                row.chat_id,
                job.broadcast,
                paid=self.settings.broadcast_paid,
                markup=self._markup(job, job.langs.pop(row.user_id, None)),
            )
        except Exception as exc:
            result = self._failed(job, row, exc)
        else:
            result = Result(row.user_id, row.chat_id, RecipientState.SENT, row.attempts + 1)
        finally:
            slots.release()
        job.results.append(result)
        job.move(RecipientState.SENDING, result.state)
        job.meter.add(time.monotonic(), job.counts.done)

    def _markup(self, job: _Job, lang: str | None) -> InlineKeyboardMarkup | None:
        """The broadcast's buttons labelled in one language, built once per language."""
        if not job.broadcast.buttons:
            return None
        key = lang or ""
        if key not in job.markups:
            rows = broadcast_buttons(self.content, lang, job.broadcast, self.bot.username)
            job.markups[key] = keyboard(rows)
        return job.markups[key]

    def _failed(self, job: _Job, row: Recipient, exc: Exception) -> Result:
        failure = classify(exc)
        retry_after = retry_after_seconds(exc) if isinstance(exc, RetryAfter) else 0.0
        decision: Decision = decide(failure, row.attempts, self.policy, retry_after)
        chat_id = row.chat_id
        if isinstance(exc, ChatMigrated):
            chat_id = int(exc.new_chat_id)
        if failure is Failure.RATE_LIMITED:
            self.stats.rate_limited += 1
            self.pacer.pause(time.monotonic() + retry_after)
            if self.budget is not None:
                self.budget.pause(retry_after)
            logger.info("broadcast %d: 429, pausing %.1f s", job.id, retry_after)
        if decision.block_subscriber:
            job.blocked.append(row.user_id)
        if failure is Failure.AMBIGUOUS:
            logger.warning("broadcast %d: answer lost, not resending: %r", job.id, exc)
        elif decision.state is RecipientState.FAILED:
            logger.warning("broadcast %d: gave up on a recipient: %s", job.id, exc)
        return Result(
            row.user_id,
            chat_id,
            decision.state,
            decision.attempts,
            next_at=time.time() + decision.delay,
            error=redact(f"{type(exc).__name__}: {exc}", [self.settings.token or ""])[:200],
        )

    # -- the organizer's view ------------------------------------------------------------

    async def _texts(self, broadcast: Broadcast) -> BroadcastTexts:
        lang = None
        if broadcast.author_id is not None:
            profile = await self.db.users.profile(broadcast.author_id)
            lang = profile.lang if profile else None
        return self.content.pack(lang).staff.broadcast

    def _values(self, job: _Job, counts: Counts) -> dict[str, str]:
        rate = job.meter.rate()
        eta = counts.remaining / rate if rate > 0 else None
        return {
            "id": str(job.id),
            "sent": str(counts.sent),
            "blocked": str(counts.blocked),
            "failed": str(counts.failed),
            "unknown": str(counts.unknown),
            "remaining": str(counts.remaining),
            "rate": f"{rate:.1f}",
            "eta": clock_text(eta),
            "elapsed": clock_text(self._elapsed(job)),
        }

    def _elapsed(self, job: _Job) -> float:
        started = job.broadcast.started_at
        if started is None:
            return time.monotonic() - job.started
        return (self.clock() - started).total_seconds()

    async def _report(self, job: _Job) -> None:
        """Edit the organizer's status message every few seconds while sending."""
        stop = keyboard(stop_row(job.texts, job.id))
        while True:
            await asyncio.sleep(self.progress_every)
            text = self.content.fill(job.texts.progress, **self._values(job, job.counts))
            await self._show(job, text, stop)

    async def _show(
        self, job: _Job, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Replace the status message's text; a failed edit is not worth more than a log."""
        b = job.broadcast
        if b.chat_id is None or b.status_message_id is None:
            return
        try:
            await self.bot.edit_message_text(
                text,
                b.chat_id,
                b.status_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        except TelegramError as exc:
            logger.info("broadcast %d: status not updated: %s", job.id, exc)

    async def _finish(self, job: _Job) -> None:
        """Close the broadcast and tell the organizer how it went."""
        now = self.clock()

        async def close() -> tuple[BroadcastState | None, Counts]:
            state = await self.db.outbox.finish(job.id, now)
            counts = await self.db.outbox.counts(job.id)
            if job.broadcast.author_id is not None:
                detail = f"id={job.id} state={state} sent={counts.sent} blocked={counts.blocked}"
                detail += f" failed={counts.failed} unknown={counts.unknown}"
                await self.db.audit.record(job.broadcast.author_id, "broadcast.end", detail, now)
            return state, counts

        state, counts = await self._locked(close)
        self._cancelled.discard(job.id)
        template = job.texts.finished if state is BroadcastState.DONE else job.texts.stopped
        text = self.content.fill(template, **self._values(job, counts))
        # What it achieved so far (taps, acts, unsubscribes); /broadcasts shows the week after.
        achieved = await self.db.outbox.achieved(job.broadcast)

        def say(template: str, trusted: Mapping[str, str] | None = None, **values: object) -> str:
            return self.content.say(template, values, trusted)

        text += "\n" + achieved_line(say, job.texts, achieved)
        logger.info("broadcast %d %s: %s", job.id, state, counts)
        await self._show(job, text)
        if job.broadcast.chat_id is not None:
            try:
                await self.bot.send_message(job.broadcast.chat_id, text, parse_mode=ParseMode.HTML)
            except TelegramError as exc:
                logger.warning("broadcast %d: summary not sent: %s", job.id, exc)
