"""Limits on what the bot sends and on what one person may ask of it.

`SendBudget` shares Telegram's send limits (all chats together, and each chat) among every
request the bot makes: interactive requests are served first, bulk ones (broadcasts) take
what is left. `Courier` is the python-telegram-bot rate limiter that draws from the budget
and retries a request that did not reach Telegram. `FloodGate` notices one person sending
faster than anyone types.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import aiohttp
import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

__all__ = [
    "CHAT_BURST",
    "CHAT_RATE",
    "FLOOD_BURST",
    "FLOOD_RATE",
    "GLOBAL_RATE",
    "PATIENCE",
    "Courier",
    "FloodGate",
    "Gate",
    "SendBudget",
]

logger = logging.getLogger(__name__)

GLOBAL_RATE = 30.0  # requests a second, all chats together (Telegram's Bot FAQ)
CHAT_RATE = 1.0  # new messages a second in one chat, once its burst is spent
CHAT_BURST = 5  # messages one chat may get at once (a reply is often two or three)
# Requests that may leave back to back when the bot was quiet; beyond them they are spaced
# evenly, so that delays on the way cannot bunch a second's worth into one second over there.
GLOBAL_BURST = 4
# Requests leave at our clock and arrive at Telegram's with varying delays: a window a little
# longer than a second keeps a burst of GLOBAL_RATE from overlapping the next one over there.
WINDOW = 1.05
PATIENCE = 60.0  # seconds a request that did not reach Telegram is retried for
# A button's spinner stops after a few seconds anyway: an answer later than that is no use.
_PATIENCE = {"answerCallbackQuery": 10.0}
_BACKOFF_FIRST, _BACKOFF_MAX = 0.5, 5.0
FLOOD_BURST = 8  # messages one person may send at once before the bot holds back
FLOOD_RATE = 2.0  # messages a second one person may keep sending after the burst

# Errors below these types mean the request was never (fully) written: safe to send again.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteTimeout,
    httpx.WriteError,
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
)


class SendBudget:
    """Admit requests under a global and a per-chat limit, interactive ones first."""

    def __init__(
        self,
        rate: float = GLOBAL_RATE,
        *,
        chat_rate: float = CHAT_RATE,
        chat_burst: int = CHAT_BURST,
        window: float = WINDOW,
    ) -> None:
        # `rate` requests per `window`: never more than `rate` in any one second over there.
        self.capacity = max(1, int(rate))
        self.window = window
        self.interval = window / self.capacity
        self.tolerance = (min(GLOBAL_BURST, self.capacity) - 1) * self.interval
        self._next = 0.0  # the global theoretical send time (GCRA), as for each chat
        self.chat_interval = 1.0 / chat_rate
        self.chat_tolerance = (chat_burst - 1) * self.chat_interval
        self.rate_limited = 0  # 429 answers met, for tests and the benchmark
        self.granted = {False: 0, True: 0}  # requests admitted: interactive, bulk
        self._sent: deque[float] = deque()
        self._chats: dict[int, float] = {}  # each chat's next theoretical send time (GCRA)
        self._paused_until = 0.0
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {False: deque(), True: deque()}
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        """Return how many requests wait for a slot."""
        return sum(len(queue) for queue in self._waiting.values())

    async def acquire(self, chat_id: int | None = None, *, bulk: bool = False) -> None:
        """Wait until one more request to `chat_id` may leave."""
        loop = asyncio.get_running_loop()
        if chat_id is not None:
            delay = self._reserve_chat(chat_id, loop.time())
            if delay > 0:
                await asyncio.sleep(delay)
        now = loop.time()
        if not self._waiting[False] and not self._waiting[True] and self._free_in(now) <= 0:
            self._grant(now, bulk)
            return
        future: asyncio.Future[None] = loop.create_future()
        self._waiting[bulk].append(future)
        if self._timer is None:
            self._dispatch()
        try:
            await future
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self._waiting[bulk].remove(future)
            raise

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (Telegram answered 429)."""
        self.rate_limited += 1
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)

    def close(self) -> None:
        """Stop the timer; waiting requests are cancelled."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for queue in self._waiting.values():
            while queue:
                queue.popleft().cancel()

    def _reserve_chat(self, chat_id: int, now: float) -> float:
        """Book the chat's next slot; return how long to wait for it."""
        tat = max(self._chats.get(chat_id, now), now)
        self._chats[chat_id] = tat + self.chat_interval
        if len(self._chats) > 10_000:
            self._chats = {c: t for c, t in self._chats.items() if t > now}
        return max(0.0, tat - self.chat_tolerance - now)

    def _free_in(self, now: float) -> float:
        """Return the seconds until a global slot is free (0 if one is)."""
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        wait = max(self._paused_until, self._next - self.tolerance) - now
        if len(self._sent) >= self.capacity:
            wait = max(wait, self._sent[0] + self.window - now)
        return max(0.0, wait)

    def _grant(self, now: float, bulk: bool) -> None:
        self._sent.append(now)
        self._next = max(self._next, now) + self.interval
        self.granted[bulk] += 1

    def _dispatch(self) -> None:
        """Admit waiting requests while slots are free, then sleep until the next one is."""
        self._timer = None
        loop = asyncio.get_running_loop()
        while True:
            bulk = not self._waiting[False]
            queue = self._waiting[bulk]
            while queue and queue[0].done():
                queue.popleft()
            if not queue:
                if bulk or not self._waiting[True]:
                    return
                continue
            now = loop.time()
            wait = self._free_in(now)
            if wait > 0:
                self._timer = loop.call_later(wait, self._dispatch)
                return
            self._grant(now, bulk)
            queue.popleft().set_result(None)


def retry_after_seconds(exc: RetryAfter) -> float:
    """Read retry_after, an int or a timedelta depending on PTB_TIMEDELTA, without warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def never_sent(exc: BaseException) -> bool:
    """Tell whether a failed request certainly did not reach Telegram."""
    return isinstance(exc.__cause__, _NOT_SENT)


def _chat_of(endpoint: str, data: dict[str, Any]) -> int | None:
    """Return the chat a new message goes to (edits and button answers are not limited)."""
    if not (endpoint.startswith("send") or endpoint == "copyMessage"):
        return None
    chat_id = data.get("chat_id")
    return chat_id if isinstance(chat_id, int) and not isinstance(chat_id, bool) else None


@dataclass
class _Outage:
    since: float
    held: int = 0


class Courier(BaseRateLimiter[bool]):
    """Send every request within the shared budget, and retry what did not reach Telegram.

    A 5xx answer, a refused or dropped connection and a 429 are retried with backoff for
    `patience` seconds. A request whose answer timed out after it was written may have been
    delivered, so it is not sent again. Each outage is logged once when it starts and once
    when it ends. `rate_limit_args=True` marks a bulk request (a broadcast).

    python-telegram-bot asks rate limiters to let errors other than RetryAfter through; this
    one catches network errors on purpose, since retrying them is its job.
    """

    def __init__(
        self,
        budget: SendBudget | None = None,
        *,
        patience: float = PATIENCE,
        backoff: tuple[float, float] = (_BACKOFF_FIRST, _BACKOFF_MAX),
    ) -> None:
        self.budget = budget or SendBudget()
        self.patience = patience
        self.backoff = backoff
        self.retried = 0  # requests sent again after a failure
        self._outage: _Outage | None = None
        self._back: asyncio.Event | None = None

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Release requests still waiting for a slot."""
        self.budget.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: bool | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Make the request when the budget allows, retrying it while it cannot arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _PATIENCE.get(endpoint, self.patience)
        chat_id, bulk = _chat_of(endpoint, data), bool(rate_limit_args)
        attempt = 0
        while True:
            # A retry draws only on the global limit: the chat saw nothing of the failed try.
            await self.budget.acquire(chat_id if attempt == 0 else None, bulk=bulk)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                pause = retry_after_seconds(exc)
                self.budget.pause(pause)
                logger.info("Telegram asked to slow down: pausing %.0f s", pause)
                if loop.time() + pause > deadline:
                    raise
                delay = 0.0  # the budget holds every request until the pause ends
            except TimedOut as exc:
                if not never_sent(exc):
                    logger.warning("%s: no answer in time, not sending it again", endpoint)
                    raise
                delay = self._failed(endpoint, exc, attempt, deadline, loop.time())
            except NetworkError as exc:
                if not _unreachable(exc):
                    raise
                delay = self._failed(endpoint, exc, attempt, deadline, loop.time())
            else:
                self._recovered(loop.time())
                return result
            attempt += 1
            self.retried += 1
            if delay > 0:
                await self._wait(delay)

    def _failed(
        self, endpoint: str, exc: NetworkError, attempt: int, deadline: float, now: float
    ) -> float:
        """Note the outage; return the backoff before the next try, or raise at the deadline."""
        if self._outage is None:
            self._outage = _Outage(now)
            self._back = asyncio.Event()
            logger.warning(
                "Telegram is unreachable (%s: %s); holding replies for up to %.0f s",
                type(exc).__name__,
                exc.message,
                self.patience,
            )
        if attempt == 0:
            self._outage.held += 1
        first, most = self.backoff
        delay = min(most, first * 2**attempt) * random.uniform(0.5, 1.0)
        if now + delay > deadline:
            raise exc
        return delay

    def _recovered(self, now: float) -> None:
        outage, self._outage = self._outage, None
        if outage is None:
            return
        if self._back is not None:
            self._back.set()  # the others try again now rather than at their next backoff
        logger.info(
            "Telegram is reachable again after %.1f s; %d requests were held",
            now - outage.since,
            outage.held,
        )

    async def _wait(self, delay: float) -> None:
        """Sleep `delay` seconds, or less if Telegram is seen to be back meanwhile."""
        back = self._back
        if back is None or back.is_set():
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(back.wait(), delay)


def _unreachable(exc: NetworkError) -> bool:
    """Tell a network error or 5xx (worth retrying) from a refusal (BadRequest)."""
    return not isinstance(exc, BadRequest)


class Gate(StrEnum):
    """What to do with one person's message."""

    PASS = "pass"  # handle it
    WARN = "warn"  # they just started flooding: say the bot will answer in a moment
    HOLD = "hold"  # still flooding: handle it only if it must be


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class FloodGate:
    """Let each person send a burst of messages, then a few a second.

    Messages are counted at the time Telegram received them, not when they are handled:
    one chat's updates are handled one after another, paced by the chat's send limit, so
    the handling time would hide a flood; and a backlog after downtime is not one.
    """

    def __init__(self, burst: int = FLOOD_BURST, rate: float = FLOOD_RATE) -> None:
        self.burst = burst
        self.rate = rate
        self._buckets: dict[int, _Bucket] = {}

    def check(self, user_id: int, sent_at: float | None = None) -> Gate:
        """Count a message from `user_id` sent at `sent_at` (epoch seconds) and say what to do."""
        now = time.time() if sent_at is None else sent_at
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._sweep(now)
            bucket = self._buckets[user_id] = _Bucket(float(self.burst), now)
        refill = max(0.0, now - bucket.at) * self.rate
        bucket.tokens = min(float(self.burst), bucket.tokens + refill)
        bucket.at = max(bucket.at, now)
        if bucket.tokens >= self.burst:
            bucket.warned = False  # quiet long enough: a new flood may be told again
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Gate.PASS
        if bucket.warned:
            return Gate.HOLD
        bucket.warned = True
        return Gate.WARN

    def _sweep(self, now: float) -> None:
        """Forget people whose bucket has filled up again."""
        full = self.burst / self.rate
        self._buckets = {u: b for u, b in self._buckets.items() if now - b.at < full}
