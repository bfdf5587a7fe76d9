"""Broadcast decisions without I/O: states, pacing, what to do after a failed send.

The Telegram-facing sender (bot/broadcast.py) reads the clock, sleeps and sends; everything
it decides on the way is here, so it can be tested as plain functions.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "MAX_CALLBACK_BYTES",
    "BroadcastKind",
    "BroadcastState",
    "ButtonAction",
    "Counts",
    "Decision",
    "Failure",
    "Pacer",
    "RateMeter",
    "RecipientState",
    "RetryPolicy",
    "button_data",
    "clock_text",
    "decide",
    "option_data",
    "parse_button",
    "parse_option",
]

MAX_CALLBACK_BYTES = 64
_BUTTON = re.compile(r"bc:(send|test|cancel|schedule|who|when|back):([1-9][0-9]{0,17})")
# An option chosen by button: `bo:12:acted=no` (`*`: no condition).
_OPTION_BUTTON = re.compile(
    r"bo:([1-9][0-9]{0,17}):(lang|source|acted|joined|button)=([A-Za-z0-9_*-]{1,48})"
)


class BroadcastState(StrEnum):
    """Where a broadcast is; a draft becomes `sending` exactly once."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"  # a ready draft confirmed to start by itself at its time
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class BroadcastKind(StrEnum):
    """How a broadcast is sent: our own HTML text, or a copy of the organizer's message."""

    TEXT = "text"
    COPY = "copy"


class RecipientState(StrEnum):
    """One recipient's delivery; `sending` means the request may have gone out."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Failure(StrEnum):
    """Why a send did not succeed, as far as the sender can tell."""

    RATE_LIMITED = "rate_limited"  # 429: not delivered, everyone waits retry_after
    GONE = "gone"  # 403 blocked or deactivated, 400 chat not found: never retry
    MIGRATED = "migrated"  # the group moved to a new chat id: send there
    TRANSIENT = "transient"  # 5xx, or a request that never left: retry with backoff
    AMBIGUOUS = "ambiguous"  # the request left but no answer came: may have arrived
    REJECTED = "rejected"  # any other 400: retrying would fail the same way


class ButtonAction(StrEnum):
    """What an organizer's button asks for."""

    SEND = "send"
    TEST = "test"
    CANCEL = "cancel"
    SCHEDULE = "schedule"
    WHO = "who"  # choose the audience (and buttons) by buttons
    WHEN = "when"  # type when it goes out
    BACK = "back"  # from the choices back to the confirmation


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried."""

    max_attempts: int = 5
    base: float = 1.0
    cap: float = 60.0

    def backoff(self, attempts: int) -> float:
        """Return the wait before attempt `attempts + 1` (doubling, capped)."""
        return min(self.cap, self.base * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Decision:
    """What becomes of a recipient's row after one attempt."""

    state: RecipientState
    attempts: int
    delay: float = 0.0
    block_subscriber: bool = False


def decide(
    failure: Failure, attempts: int, policy: RetryPolicy, retry_after: float = 0.0
) -> Decision:
    """Decide a row's next state after a failed attempt; `attempts` counts earlier ones."""
    match failure:
        case Failure.RATE_LIMITED:
            # Telegram's fault budget, not the recipient's: does not use up an attempt.
            return Decision(RecipientState.PENDING, attempts, delay=retry_after)
        case Failure.GONE:
            return Decision(RecipientState.BLOCKED, attempts + 1, block_subscriber=True)
        case Failure.AMBIGUOUS:
            return Decision(RecipientState.UNKNOWN, attempts + 1)
        case Failure.REJECTED:
            return Decision(RecipientState.FAILED, attempts + 1)
        case Failure.MIGRATED | Failure.TRANSIENT:
            tried = attempts + 1
            if tried >= policy.max_attempts:
                return Decision(RecipientState.FAILED, tried)
            delay = 0.0 if failure is Failure.MIGRATED else policy.backoff(tried)
            return Decision(RecipientState.PENDING, tried, delay=delay)
    raise ValueError(f"not a failure: {failure!r}")


class Pacer:
    """Space sends 1/rate apart (a GCRA token bucket) and pause them all on a 429.

    `slack` seconds of lateness are made up for, so timer jitter does not lower the rate;
    in any one-second window at most `rate * (1 + slack) + 1` sends are allowed.
    """

    def __init__(self, rate: float, slack: float = 0.02) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.interval = 1.0 / rate
        self.slack = slack
        self._due = -math.inf
        self._paused_until = -math.inf

    def wait(self, now: float) -> float:
        """Return how long to wait before the next send may go (0 when it may go now)."""
        return max(0.0, self._paused_until - now, self._due - self.slack - now)

    def take(self, now: float) -> None:
        """Use one send slot at `now` (call only when `wait(now)` is 0)."""
        self._due = max(self._due, now) + self.interval

    def pause(self, until: float) -> None:
        """Hold every send until `until` (a 429's retry_after)."""
        self._paused_until = max(self._paused_until, until)

    @property
    def paused_until(self) -> float:
        return self._paused_until


@dataclass(frozen=True)
class Counts:
    """How many recipients of a broadcast are in each state."""

    pending: int = 0
    sending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    unknown: int = 0

    @classmethod
    def of(cls, by_state: dict[str, int]) -> Counts:
        """Build from a {state: count} mapping, ignoring unknown keys."""
        return cls(**{s.value: by_state.get(s.value, 0) for s in RecipientState})

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.done

    @property
    def done(self) -> int:
        """Rows that reached a final state."""
        return self.sent + self.blocked + self.failed + self.unknown

    @property
    def remaining(self) -> int:
        return self.pending + self.sending

    def moved(self, old: RecipientState, new: RecipientState) -> Counts:
        """Return the counts after one row moved from `old` to `new`."""
        values = {s.value: getattr(self, s.value) for s in RecipientState}
        values[old.value] -= 1
        values[new.value] += 1
        return Counts(**values)


class RateMeter:
    """The recent rate of finished rows, over a sliding window of seconds."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self._points: deque[tuple[float, int]] = deque()

    def add(self, now: float, done: int) -> None:
        """Record that `done` rows were finished at `now`."""
        self._points.append((now, done))
        while len(self._points) > 2 and self._points[1][0] <= now - self.window:
            self._points.popleft()

    def rate(self) -> float:
        """Return rows per second over the window (0 before two points)."""
        if len(self._points) < 2:
            return 0.0
        (t0, d0), (t1, d1) = self._points[0], self._points[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0


def clock_text(seconds: float | None) -> str:
    """Format a duration as H:MM:SS or M:SS; unknown as '?'."""
    if seconds is None or math.isinf(seconds) or math.isnan(seconds):
        return "?"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def button_data(action: ButtonAction, broadcast_id: int) -> str:
    """Encode a broadcast button's callback data (always well under 64 bytes)."""
    return f"bc:{action.value}:{broadcast_id}"


def option_data(broadcast_id: int, key: str, value: str) -> str | None:
    """Encode an option button's data, or None when it would not fit in 64 bytes."""
    data = f"bo:{broadcast_id}:{key}={value}"
    return data if _OPTION_BUTTON.fullmatch(data) and len(data) <= MAX_CALLBACK_BYTES else None


def parse_option(data: str) -> tuple[int, str, str] | None:
    """Decode an option button's untrusted data: (broadcast id, option, value)."""
    match = _OPTION_BUTTON.fullmatch(data) if len(data) <= MAX_CALLBACK_BYTES else None
    return (int(match.group(1)), match.group(2), match.group(3)) if match else None


def parse_button(data: str) -> tuple[ButtonAction, int] | None:
    """Decode untrusted callback data; None when it is not one of ours."""
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    match = _BUTTON.fullmatch(data)
    if match is None:
        return None
    return ButtonAction(match.group(1)), int(match.group(2))
