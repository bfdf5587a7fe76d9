"""Fake Telegram Bot API server for tests and benchmarks.

Point python-telegram-bot at it with ``base_url=f"{fake.url}/bot"``. It answers like the real
Bot API (status codes, ``{"ok": false, ...}`` bodies, ``parameters``), stores every message the
bot sends in its current state, simulates users through a ``getUpdates`` queue, and injects
faults (429, 403, 400, 5xx, lost answers, latency) on the send methods.

Send faults apply in this order: delay, outage, rate limit, not_found, migrated, blocked,
deactivated, fail_5xx, random_5xx; a send that passes them all is delivered, then lose_answer
may swallow the answer. Only sendMessage, sendPhoto, sendDocument and copyMessage are subject to
faults.

Run standalone with ``python -m tests.fake_telegram --port 0``; the first stdout line is the URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import math
import random
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

from aiohttp import web

JSONDict = dict[str, Any]
Handler = Callable[[JSONDict], Awaitable[Any]]

# fmt: off
# Form values are JSON-encoded by PTB except plain strings: keep these keys as raw strings.
STRING_KEYS = frozenset((
    "text", "caption", "parse_mode", "callback_query_id", "url", "language_code",
    "inline_message_id", "business_connection_id", "message_effect_id", "photo", "document",
    "sticker", "video", "audio", "voice", "animation", "thumbnail", "file_id", "name", "title",
    "description", "short_description", "emoji", "secret_token", "first_name", "last_name",
    "phone_number", "question", "explanation",
))
# Keys of a stored bot message that belong in the Telegram Message object.
CONTENT_KEYS = (
    "edit_date", "text", "entities", "caption", "caption_entities", "photo", "document",
    "sticker", "video", "audio", "voice", "animation",
)
# fmt: on
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class ApiError(Exception):
    """Carry a Bot API error answer."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        """Render the error as the Bot API would."""
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.code)


def _utf16_len(text: str) -> int:
    """Return the length of text in UTF-16 code units, as Telegram counts entities."""
    return len(text.encode("utf-16-le")) // 2


def _decode(key: str, value: Any) -> Any:
    """Decode one request field the way the Bot API would."""
    if not isinstance(value, str) or key in STRING_KEYS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _visible_len(text: str, parse_mode: str | None) -> int | None:
    """Return the length of text after markup parsing, or None when unknown."""
    if parse_mode is None:
        return len(text)
    if parse_mode.upper() == "HTML":
        return len(html.unescape(re.sub(r"<[^>]+>", "", text)))
    return None


WAIT = 60.0  # seconds a test waits for a condition before it fails


class FakeTelegram:
    """Serve a fake Telegram Bot API over HTTP on 127.0.0.1."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        bot_id: int = 4242,
        first_name: str = "Outreach Test",
        username: str = "OutreachTestBot",
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        # Faults, applied to the send methods.
        self.rate_limit: float | None = None
        self.retry_after: int | None = None  # force this retry_after instead of computing it
        self.blocked: set[int] = set()
        self.deactivated: set[int] = set()
        self.not_found: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.fail_5xx: dict[int, int] = {}
        self.fail_description = "Internal Server Error"  # what a forced 5xx says
        self.random_5xx: float = 0.0
        self.lose_answer: dict[int, int] = {}
        self.delay: float = 0.0
        # "5xx" answers every send with 502, "drop" closes its connection unanswered and
        # undelivered, until set back to None.
        self.outage: str | None = None
        # Scripted users (the load benchmark): each chat's next step is sent as soon as the
        # bot answers its previous one (a new message or an edit), as a person would.
        self.scripts: dict[int, deque[tuple[str, str]]] = {}
        self.latencies: list[float] = []  # seconds from a scripted step to the bot's answer
        self._asked_at: dict[int, float] = {}
        # Inspection.
        self.calls: list[tuple[str, JSONDict]] = []
        self.callback_answers: dict[str, JSONDict] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.deliveries: dict[int, list[JSONDict]] = {}
        self.count_429 = self.count_403 = self.count_400 = self.count_5xx = self.sends_ok = 0
        # Internal state.
        self._rng = random.Random(seed)
        self._window: deque[float] = deque()
        self._lock = threading.Lock()
        self._updates: list[JSONDict] = []
        self._update_id = 0
        self._msg_ids: dict[int, int] = {}
        self._file_seq = 0
        self._bot_msgs: dict[int, list[JSONDict]] = {}
        self._bot_index: dict[tuple[int, int], JSONDict] = {}
        self._user_msgs: dict[tuple[int, int], JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._files: dict[str, JSONDict] = {}
        self._documents: dict[int, list[JSONDict]] = {}
        self._open_callbacks: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._update_event: asyncio.Event | None = None
        self._closed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._true,  # recorded in `calls`; updates are then posted
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "copyMessage": self._copy_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "deleteMessage": self._delete_message,
                "close": self._true,
                "logOut": self._true,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Return the base URL, e.g. ``http://127.0.0.1:PORT`` (append ``/bot`` for PTB)."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind the server and start answering requests."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._update_event = asyncio.Event()
        self._closed = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/_fake/stats", self._stats)
        app.router.add_post("/_fake/script", self._script)
        app.router.add_post("/_fake/set", self._set)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Wake pending long polls and lost answers, then close the server."""
        if self._runner is None:
            return
        assert self._closed is not None and self._update_event is not None
        self._closed.set()
        self._update_event.set()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def run_in_thread(cls, **kwargs: Any) -> Iterator[FakeTelegram]:
        """Run a started server on its own event loop in a daemon thread."""
        server = cls(**kwargs)
        ready = threading.Event()
        stop: list[Callable[[], None]] = []
        errors: list[BaseException] = []

        async def main() -> None:
            done = asyncio.Event()
            try:
                await server.start()
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                raise
            loop = asyncio.get_running_loop()
            stop.append(lambda: loop.call_soon_threadsafe(done.set))
            ready.set()
            await done.wait()
            await server.stop()

        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        try:
            yield server
        finally:
            stop[0]()
            thread.join(10)

    # ------------------------------------------------------------------ inspection

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[JSONDict]:
        """Return the bot's messages in a chat, oldest first, in their current state."""
        msgs = self._bot_msgs.get(chat_id, [])
        return [m for m in msgs if include_deleted or not m.get("deleted")]

    def last_message(self, chat_id: int) -> JSONDict | None:
        """Return the bot's latest message in a chat, or None."""
        msgs = self.messages(chat_id)
        return msgs[-1] if msgs else None

    def documents(self, chat_id: int) -> list[JSONDict]:
        """Return documents sent to a chat: message_id, filename, mime_type, data, caption."""
        return list(self._documents.get(chat_id, []))

    def commands_for(self, scope: str = "default", language_code: str = "") -> list[JSONDict]:
        """Return the commands set for a scope key (e.g. "default", "chat:42") and language."""
        return self.commands.get((scope, language_code), [])

    def pending_updates(self) -> list[JSONDict]:
        """Return the updates not yet acknowledged by getUpdates."""
        with self._lock:
            return list(self._updates)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = WAIT) -> None:
        """Wait until predicate() is true, else raise AssertionError with recent calls.

        The timeout only bounds a failure: on a loaded machine a bot process may take many
        seconds to start, and polling costs nothing when it is quick.
        """
        deadline = time.monotonic() + timeout
        last_exc: BaseException | None = None
        while True:
            try:
                if predicate():
                    return
            except (LookupError, TypeError, AttributeError) as exc:
                last_exc = exc
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.005)
        detail = f" (last error: {last_exc!r})" if last_exc else ""
        raise AssertionError(f"condition not met within {timeout}s{detail}\n{self.dump_calls()}")

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str | None = None,
        count: int | None = None,
        timeout: float = WAIT,
    ) -> JSONDict:
        """Wait for a bot message in a chat: the latest matching one, or the count-th one."""

        def matching() -> list[JSONDict]:
            return [
                m
                for m in self.messages(chat_id)
                if contains is None or contains in (m.get("text") or m.get("caption") or "")
            ]

        await self.wait_for(lambda: len(matching()) >= (count or 1), timeout)
        found = matching()
        return found[count - 1] if count else found[-1]

    def dump_calls(self, last: int = 20) -> str:
        """Format the most recent calls for an assertion message."""
        lines = [f"last {min(last, len(self.calls))} of {len(self.calls)} calls:"]
        for name, params in self.calls[-last:]:
            shown = json.dumps(params, default=lambda v: f"<{len(v)} bytes>", ensure_ascii=False)
            lines.append(f"  {name} {shown[:300]}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ simulated users

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ana",
        username: str | None = None,
        language_code: str = "en",
    ) -> int:
        """Enqueue a text message from a user; return its message_id."""
        msg = self._user_message(
            user_id, chat_id, chat_type, first_name, username, language_code, text=text
        )
        msg.update(self._command_entities(text))
        self._push_update({"message": msg})
        return int(msg["message_id"])

    def update_from(self, user_id: int, text: str) -> JSONDict:
        """Return the update Telegram would deliver for a user's text (webhook tests post it)."""
        self.send_text(user_id, text)
        return self.pending_updates()[-1]

    def send_command(self, user_id: int, command: str, args: str = "", **kwargs: Any) -> int:
        """Enqueue ``/command args`` from a user; return its message_id."""
        text = "/" + command.lstrip("/") + (f" {args}" if args else "")
        return self.send_text(user_id, text, **kwargs)

    def send_sticker(self, user_id: int, **kwargs: Any) -> int:
        """Enqueue a sticker message from a user; return its message_id."""
        file_id, unique = self._new_file_id()
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._send_user_content(user_id, kwargs, sticker=sticker)

    def send_photo(self, user_id: int, caption: str | None = None, **kwargs: Any) -> int:
        """Enqueue a photo message from a user; return its message_id."""
        sizes = self._register_photo({"filename": "photo.jpg", "data": b"\xff\xd8fake-jpeg"})
        content: JSONDict = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._send_user_content(user_id, kwargs, **content)

    def send_document(
        self,
        user_id: int,
        filename: str = "file.pdf",
        data: bytes = b"%PDF-fake",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        **kwargs: Any,
    ) -> int:
        """Enqueue a document message from a user; return its message_id."""
        doc = self._register_document(filename, data, mime_type)
        content: JSONDict = {"document": doc}
        if caption is not None:
            content["caption"] = caption
        return self._send_user_content(user_id, kwargs, **content)

    def edit_text(
        self, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None
    ) -> None:
        """Enqueue an edited_message update for a message the user sent earlier."""
        key = (user_id if chat_id is None else chat_id, message_id)
        msg = self._user_msgs[key]
        msg.pop("entities", None)
        msg.update(text=new_text, edit_date=int(time.time()), **self._command_entities(new_text))
        self._push_update({"edited_message": dict(msg)})

    def press_button(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> str:
        """Enqueue a callback_query on a stored message; return the callback query id."""
        chat = user_id if chat_id is None else chat_id
        rec = self._bot_index.get((chat, message_id))
        msg = self._to_telegram(rec) if rec else self._user_msgs.get((chat, message_id))
        if msg is None:
            raise KeyError(f"no message {message_id} in chat {chat}")
        with self._lock:
            self._file_seq += 1
            query_id = str(8_000_000_000 + self._file_seq)
        self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self._user(user_id),
            "chat_instance": f"ci{chat}",
            "data": data,
            "message": msg,
        }
        self._push_update({"callback_query": query})
        return query_id

    def block_bot(self, user_id: int, *, blocked: bool = True) -> None:
        """Make a user block (or unblock) the bot, enqueueing a my_chat_member update."""
        member_old = {"user": self.bot_user, "status": "member"}
        member_new: JSONDict = {"user": self.bot_user, "status": "kicked", "until_date": 0}
        if blocked:
            self.blocked.add(user_id)
        else:
            self.blocked.discard(user_id)
            member_old, member_new = member_new, member_old
        update = {
            "chat": self._chat(user_id),
            "from": self._user(user_id),
            "date": int(time.time()),
            "old_chat_member": member_old,
            "new_chat_member": member_new,
        }
        self._push_update({"my_chat_member": update})

    def _send_user_content(self, user_id: int, kwargs: JSONDict, **content: Any) -> int:
        """Enqueue a non-text user message built from content and send_text-style kwargs."""
        msg = self._user_message(
            user_id,
            kwargs.get("chat_id"),
            kwargs.get("chat_type", "private"),
            kwargs.get("first_name", "Ana"),
            kwargs.get("username"),
            kwargs.get("language_code", "en"),
            **content,
        )
        self._push_update({"message": msg})
        return int(msg["message_id"])

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        chat_type: str,
        first_name: str,
        username: str | None,
        language_code: str,
        **content: Any,
    ) -> JSONDict:
        """Build and store a user's message, registering the user and the chat."""
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        chat_id = user_id if chat_id is None else chat_id
        if chat_type == "private":
            chat = {k: v for k, v in user.items() if k in ("first_name", "username")}
            chat.update(id=chat_id, type="private")
        else:
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {chat_id}"}
        self._chats[chat_id] = chat
        msg_id = self._new_message_id(chat_id)
        msg = {"message_id": msg_id, "from": user, "chat": chat, "date": int(time.time())}
        msg.update(content)
        self._user_msgs[(chat_id, msg_id)] = msg
        return msg

    def _command_entities(self, text: str) -> JSONDict:
        """Return the entities Telegram attaches to a text starting with a bot command."""
        match = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if not match:
            return {}
        length = _utf16_len(match.group(0))
        return {"entities": [{"type": "bot_command", "offset": 0, "length": length}]}

    def _push_update(self, payload: JSONDict) -> None:
        """Append an update with the next update_id and wake long polls (thread-safe)."""
        with self._lock:
            self._update_id += 1
            self._updates.append({"update_id": self._update_id, **payload})
        event, loop = self._update_event, self._loop
        if event is None or loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    # ------------------------------------------------------------------ ids, users, chats

    def _new_message_id(self, chat_id: int) -> int:
        """Allocate the next message id in a chat."""
        with self._lock:
            msg_id = self._msg_ids.get(chat_id, 0) + 1
            self._msg_ids[chat_id] = msg_id
            return msg_id

    def _new_file_id(self) -> tuple[str, str]:
        """Allocate a file_id and a file_unique_id."""
        with self._lock:
            self._file_seq += 1
            return f"FAKEFILE{self._file_seq:06d}", f"U{self._file_seq:06d}"

    def _user(self, user_id: int) -> JSONDict:
        """Return a known user or a default one."""
        return self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Ana"}

    def _chat(self, chat_id: int) -> JSONDict:
        """Return a known chat or a plausible one derived from the id."""
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Ana"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Test {kind} {chat_id}"}

    def _register_photo(self, upload: JSONDict) -> list[JSONDict]:
        """Store an uploaded photo and return its PhotoSize list."""
        file_id, unique = self._new_file_id()
        self._files[file_id] = upload
        size = len(upload.get("data", b""))
        return [
            {
                "file_id": file_id + "s",
                "file_unique_id": unique + "s",
                "width": 90,
                "height": 67,
                "file_size": min(size, 1000),
            },
            {
                "file_id": file_id,
                "file_unique_id": unique,
                "width": 800,
                "height": 600,
                "file_size": size,
            },
        ]

    def _register_document(self, filename: str, data: bytes, mime_type: str) -> JSONDict:
        """Store an uploaded document and return its Document object."""
        file_id, unique = self._new_file_id()
        self._files[file_id] = {"filename": filename, "data": data, "mime_type": mime_type}
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(data),
        }

    # ------------------------------------------------------------------ HTTP plumbing

    async def _stats(self, request: web.Request) -> web.Response:
        """Answer the counters as JSON, for out-of-process users."""
        return web.json_response(
            {
                "sends_ok": self.sends_ok,
                "count_429": self.count_429,
                "count_403": self.count_403,
                "count_400": self.count_400,
                "count_5xx": self.count_5xx,
                "calls": len(self.calls),
                "polls": sum(1 for name, _ in self.calls if name == "getUpdates"),
                "deliveries": {str(k): len(v) for k, v in self.deliveries.items()},
                "latencies": self.latencies,
                "scripted_left": sum(
                    1 for chat in self.scripts if self.scripts[chat] or chat in self._asked_at
                ),
            }
        )

    async def _script(self, request: web.Request) -> web.Response:
        """Start scripted users: `{"users": [ids], "steps": [[kind, value], ...]}`.

        A step is `["text", "..."]` (also commands) or `["press", "callback data"]` (on the
        message the bot last sent or edited in that chat).
        """
        body = await request.json()
        steps = [(str(kind), str(value)) for kind, value in body["steps"]]
        for user in body["users"]:
            self.scripts[int(user)] = deque(steps)
            self._step(int(user), None)
        return web.json_response({"ok": True})

    async def _set(self, request: web.Request) -> web.Response:
        """Change faults while running: `{"outage": "5xx"|"drop"|null, "rate": n, "delay": s}`."""
        body = await request.json()
        for key in ("outage", "rate", "delay"):
            if key in body:
                setattr(self, "rate_limit" if key == "rate" else key, body[key])
        return web.json_response({"ok": True})

    def _step(self, chat_id: int, message_id: int | None) -> None:
        """Send the chat's next scripted step, if any."""
        steps = self.scripts.get(chat_id)
        if not steps:
            return
        kind, value = steps.popleft()
        self._asked_at[chat_id] = time.monotonic()
        if kind == "press" and message_id is not None:
            self.press_button(chat_id, message_id, value)
        else:
            self.send_text(chat_id, value)

    def _answered(self, chat_id: int, message_id: int) -> None:
        """Note the bot's answer to a scripted step and send the next one."""
        asked = self._asked_at.pop(chat_id, None)
        if asked is None:
            return
        self.latencies.append(time.monotonic() - asked)
        self._step(chat_id, message_id)

    async def _read_params(self, request: web.Request) -> JSONDict:
        """Decode query, form, multipart or JSON fields into typed values."""
        raw: JSONDict = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                raw.update(body)
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    raw[key] = {
                        "filename": value.filename,
                        "mime_type": value.content_type,
                        "data": value.file.read(),
                    }
                else:
                    raw[key] = value
        return {key: _decode(key, value) for key, value in raw.items()}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Route ``/bot<token>/<method>`` to a method implementation."""
        token, _, method = request.match_info["tail"].partition("/")
        if not token.startswith("bot") or not method:
            return ApiError(404, "Not Found").response()
        if token[3:] != self.token:
            return ApiError(401, "Unauthorized").response()
        try:
            params = await self._read_params(request)
        except ValueError:
            return ApiError(400, "Bad Request: can't parse request body").response()
        name, handler = self._methods.get(method.lower(), (method, None))
        self.calls.append((name, params))
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params)
        except ApiError as exc:
            self._count_error(exc.code)
            return exc.response()
        except (_LostAnswer, _Dropped):
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=504)
        return web.json_response({"ok": True, "result": result})

    def _count_error(self, code: int) -> None:
        """Update the error counters."""
        if code == 429:
            self.count_429 += 1
        elif code == 403:
            self.count_403 += 1
        elif code == 400:
            self.count_400 += 1
        elif code >= 500:
            self.count_5xx += 1

    # ------------------------------------------------------------------ faults

    def _check_rate(self) -> None:
        """Admit a send into the sliding one-second window or raise 429."""
        rate = self.rate_limit
        if not rate:
            return
        window = max(1.0, 1.0 / rate)
        capacity = max(1, int(rate * window))
        now = time.monotonic()
        while self._window and self._window[0] <= now - window:
            self._window.popleft()
        if len(self._window) < capacity:
            self._window.append(now)
            return
        wait = self.retry_after or max(1, math.ceil(self._window[0] + window - now))
        raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})

    async def _gate(self, chat_id: int) -> None:
        """Apply delay, rate limit and per-chat faults to a send, raising ApiError."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.outage == "5xx":
            raise ApiError(502, "Bad Gateway")
        if self.outage == "drop":
            raise _Dropped
        self._check_rate()
        if chat_id in self.not_found:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        remaining = self.fail_5xx.get(chat_id, 0)
        if remaining > 0:
            self.fail_5xx[chat_id] = remaining - 1
            raise ApiError(500, self.fail_description)
        if self.random_5xx and self._rng.random() < self.random_5xx:
            if self._rng.random() < 0.5:
                raise ApiError(500, "Internal Server Error")
            raise ApiError(502, "Bad Gateway")

    # ------------------------------------------------------------------ methods

    async def _true(self, params: JSONDict) -> bool:
        """Answer true."""
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        """Answer the bot user."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _delete_webhook(self, params: JSONDict) -> bool:
        """Drop pending updates when asked; there is never a webhook."""
        if params.get("drop_pending_updates"):
            with self._lock:
                self._updates.clear()
        return True

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        """Acknowledge updates below offset and long-poll for new ones."""
        assert self._update_event is not None and self._closed is not None
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self._lock:
                if isinstance(offset, int) and offset > 0:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                elif isinstance(offset, int) and offset < 0:
                    self._updates = self._updates[offset:]
                if self._updates:
                    return self._updates[:limit]
                self._update_event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed.is_set():
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), remaining)

    def _scope_key(self, params: JSONDict) -> tuple[str, str]:
        """Return the (scope, language) key for the command methods."""
        scope = params.get("scope") or {"type": "default"}
        key = str(scope.get("type", "default"))
        for part in ("chat_id", "user_id"):
            if part in scope:
                key += f":{scope[part]}"
        return key, str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSONDict) -> bool:
        """Store the command list for a scope and language."""
        commands = params.get("commands") or []
        for cmd in commands:
            if not COMMAND_RE.match(str(cmd.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope_key(params)] = list(commands)
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        """Answer the command list for a scope and language."""
        return self.commands.get(self._scope_key(params), [])

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        """Forget the command list for a scope and language."""
        self.commands.pop(self._scope_key(params), None)
        return True

    def _chat_id(self, params: JSONDict) -> int:
        """Return the integer chat_id of a request or raise the Bot API error."""
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _check_markup(self, params: JSONDict) -> None:
        """Validate callback_data sizes of an inline keyboard."""
        markup = params.get("reply_markup")
        if not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _check_text(self, params: JSONDict, key: str, limit: int) -> None:
        """Validate the length of text or caption."""
        value = params.get(key)
        if value is None:
            return
        length = _visible_len(str(value), params.get("parse_mode"))
        if length is not None and length > limit:
            what = "message is too long" if key == "text" else "message caption is too long"
            raise ApiError(400, f"Bad Request: {what}")

    async def _send(self, method: str, params: JSONDict, content: JSONDict) -> JSONDict:
        """Apply faults, then store and deliver a bot message; return its record."""
        chat_id = self._chat_id(params)
        self._check_markup(params)
        await self._gate(chat_id)
        rec: JSONDict = {k: v for k, v in params.items() if k not in ("chat_id", "message_id")}
        rec.update(content)
        rec.update(
            chat_id=chat_id,
            message_id=self._new_message_id(chat_id),
            method=method,
            date=int(time.time()),
        )
        self._bot_msgs.setdefault(chat_id, []).append(rec)
        self._bot_index[(chat_id, rec["message_id"])] = rec
        self.deliveries.setdefault(chat_id, []).append(dict(rec))
        self.sends_ok += 1
        self._answered(chat_id, rec["message_id"])
        if self.lose_answer.get(chat_id, 0) > 0:
            self.lose_answer[chat_id] -= 1
            assert self._closed is not None
            await self._closed.wait()
            raise _LostAnswer
        return rec

    async def _send_message(self, params: JSONDict) -> JSONDict:
        """Send a text message."""
        text = params.get("text")
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        self._check_text(params, "text", 4096)
        return self._to_telegram(await self._send("sendMessage", params, {"text": str(text)}))

    def _upload(self, params: JSONDict, key: str) -> JSONDict:
        """Return the uploaded file or the stored file behind a file_id."""
        value = params.get(key)
        if isinstance(value, dict):
            return value
        if not value:
            raise ApiError(400, f"Bad Request: there is no {key} in the request")
        file_id = str(value).removesuffix("s")
        return self._files.get(file_id) or {"filename": None, "data": b"", "file_id": value}

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        """Send a photo, uploaded or by file_id."""
        self._check_text(params, "caption", 1024)
        sizes = self._register_photo(self._upload(params, "photo"))
        return self._to_telegram(await self._send("sendPhoto", params, {"photo": sizes}))

    async def _send_document(self, params: JSONDict) -> JSONDict:
        """Send a document, uploaded or by file_id, and keep its name and bytes."""
        self._check_text(params, "caption", 1024)
        upload = self._upload(params, "document")
        filename = upload.get("filename") or "document"
        mime = upload.get("mime_type") or "application/octet-stream"
        doc = self._register_document(filename, upload.get("data", b""), mime)
        rec = await self._send("sendDocument", params, {"document": doc})
        self._documents.setdefault(rec["chat_id"], []).append(
            {
                "message_id": rec["message_id"],
                "filename": filename,
                "mime_type": mime,
                "data": upload.get("data", b""),
                "caption": params.get("caption"),
            }
        )
        return self._to_telegram(rec)

    async def _copy_message(self, params: JSONDict) -> JSONDict:
        """Copy a user's or the bot's message; answer its new message_id."""
        key: tuple[Any, Any] = (params.get("from_chat_id"), params.get("message_id"))
        rec = self._bot_index.get(key)
        source = self._to_telegram(rec) if rec else self._user_msgs.get(key)
        if source is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        content = {k: v for k, v in source.items() if k in CONTENT_KEYS and k != "edit_date"}
        if "text" in content:
            params = {k: v for k, v in params.items() if k not in ("caption", "parse_mode")}
        elif "caption" in params:
            content.pop("caption_entities", None)
            content["caption"] = params["caption"]
        self._check_text({**params, **content}, "caption", 1024)
        content["copied_message_id"] = params.get("message_id")
        copied = await self._send("copyMessage", params, content)
        return {"message_id": copied["message_id"]}

    def _find_own(self, params: JSONDict) -> JSONDict:
        """Return the bot message targeted by an edit or raise the Bot API error."""
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        key: tuple[Any, Any] = (self._chat_id(params), params.get("message_id"))
        rec = self._bot_index.get(key)
        if rec is None or rec.get("deleted"):
            if key in self._user_msgs:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return rec

    def _apply_edit(self, rec: JSONDict, changes: JSONDict) -> JSONDict:
        """Apply changes to a stored message or raise 'message is not modified'."""
        if all(rec.get(k) == v for k, v in changes.items()):
            raise ApiError(400, NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                rec.pop(key, None)
            else:
                rec[key] = value
        rec["edit_date"] = int(time.time())
        rec["edits"] = rec.get("edits", 0) + 1
        self._answered(rec["chat_id"], rec["message_id"])
        return self._to_telegram(rec)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        """Edit the text (and keyboard: omitted means removed) of a bot message."""
        rec = self._find_own(params)
        if "text" not in rec:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if not params.get("text"):
            raise ApiError(400, "Bad Request: message text is empty")
        self._check_text(params, "text", 4096)
        self._check_markup(params)
        changes = {
            "text": str(params["text"]),
            "reply_markup": params.get("reply_markup"),
            "parse_mode": params.get("parse_mode"),
            "entities": params.get("entities"),
        }
        return self._apply_edit(rec, changes)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        """Replace (or remove) the inline keyboard of a bot message."""
        rec = self._find_own(params)
        self._check_markup(params)
        return self._apply_edit(rec, {"reply_markup": params.get("reply_markup")})

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        """Record the answer to an open callback query."""
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        self._open_callbacks.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    async def _delete_message(self, params: JSONDict) -> bool:
        """Mark a bot message deleted, or forget a user message."""
        key: tuple[Any, Any] = (self._chat_id(params), params.get("message_id"))
        rec = self._bot_index.get(key)
        if rec is not None and not rec.get("deleted"):
            rec["deleted"] = True
            return True
        if self._user_msgs.pop(key, None) is not None:
            return True
        raise ApiError(400, "Bad Request: message to delete not found")

    def _to_telegram(self, rec: JSONDict) -> JSONDict:
        """Render a stored bot message as a Telegram Message object."""
        msg: JSONDict = {
            "message_id": rec["message_id"],
            "date": rec["date"],
            "chat": self._chat(rec["chat_id"]),
            "from": self.bot_user,
        }
        for key in CONTENT_KEYS:
            if rec.get(key) is not None:
                msg[key] = rec[key]
        markup = rec.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        return msg


class _LostAnswer(Exception):
    """Signal that a delivered send must not be answered."""


class _Dropped(Exception):
    """Signal that a send's connection is closed before it is delivered."""


async def _serve(args: argparse.Namespace) -> None:
    """Run the server until SIGTERM or SIGINT."""
    fake = FakeTelegram(args.token, host=args.host, port=args.port, seed=args.seed)
    fake.rate_limit = args.rate
    fake.delay = args.delay
    fake.random_5xx = args.random_5xx
    fake.blocked = _ids(args.blocked)
    fake.deactivated = _ids(args.deactivated)
    fake.not_found = _ids(args.not_found)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    async with fake:
        print(fake.url, flush=True)
        await done.wait()


def _ids(text: str) -> set[int]:
    """Parse a comma-separated list of chat ids."""
    return {int(part) for part in text.split(",") if part.strip()}


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=None, help="sends per second, all chats")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each send")
    parser.add_argument("--random-5xx", type=float, default=0.0, help="probability of a 5xx")
    parser.add_argument("--blocked", default="", help="comma-separated chat ids")
    parser.add_argument("--deactivated", default="", help="comma-separated chat ids")
    parser.add_argument("--not-found", default="", help="comma-separated chat ids")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
