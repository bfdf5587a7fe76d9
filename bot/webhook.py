"""Webhook mode: our own small aiohttp server feeds Telegram's updates to the application.

python-telegram-bot's `run_webhook` serves one route from a tornado app (tornado is not a
dependency here); it has no room for a health endpoint, and when an update fails to parse it
logs the whole body, what a person typed, at CRITICAL, past our private-data filter. This
server checks the secret header in constant time, hands updates to `application.update_queue`
as PTB's own handler does, answers `GET /healthz`, and never logs a body or the secret.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import ExtBot

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import BotApp

__all__ = [
    "ALLOWED_UPDATES",
    "HEALTH_PATH",
    "SECRET_HEADER",
    "WebhookError",
    "WebhookServer",
    "serve_webhook",
    "webhook_path",
]

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"


class WebhookError(Exception):
    """The webhook server cannot listen; the message names the variables to change."""


def webhook_path(url: str) -> str:
    """Return the path the server listens on for `url` (`/` when it has none)."""
    return urlsplit(url).path or "/"


class WebhookServer:
    """Accept Telegram's POSTs at `path` and answer `GET /healthz`."""

    def __init__(
        self,
        app: BotApp,
        *,
        path: str,
        secret: str,
        listen: str = "127.0.0.1",
        port: int = 8443,
        sock: socket.socket | None = None,
    ) -> None:
        self._app = app
        self._path = path
        self._secret = secret.encode()
        self._listen = listen
        self._port = port
        self._sock = sock
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind the address (or the given socket) and start answering."""
        server = web.Application(client_max_size=1024 * 1024)
        server.router.add_get(HEALTH_PATH, self._health)
        server.router.add_post(self._path, self._update)
        # Access logs would hold callers' addresses; Telegram's retries say enough on failure.
        self._runner = web.AppRunner(server, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site: web.BaseSite
        if self._sock is not None:
            site = web.SockSite(self._runner, self._sock)
        else:
            site = web.TCPSite(self._runner, self._listen, self._port)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise WebhookError(
                f"WEBHOOK_LISTEN, WEBHOOK_PORT: cannot listen on {self._listen}:{self._port}: "
                f"{exc.strerror or exc}"
            ) from exc
        host, port = self._runner.addresses[0][:2]
        logger.info("webhook server listening on %s:%s at %s", host, port, self._path)

    async def stop(self) -> None:
        """Stop accepting requests; Telegram keeps what it could not deliver and retries."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, request: web.Request) -> web.Response:
        """Answer 200 while the application runs and its dependencies are set up."""
        ready = self._app.running and self._app.bot_data.running is not None
        if not ready:
            return web.Response(status=503, text="starting or stopping\n")
        return web.Response(text="ok\n")

    async def _update(self, request: web.Request) -> web.Response:
        """Check the secret, parse the update and queue it for the application."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            logger.warning("refused a webhook request without the right secret token")
            return web.Response(status=403, text="forbidden\n")
        if not self._app.running:
            return web.Response(status=503, text="stopping\n")
        try:
            data: Any = json.loads(await request.read())
            bot = self._app.bot
            update = Update.de_json(data, bot)
        except Exception as exc:  # the body holds what people typed: log only what failed
            logger.error("could not read an update from the webhook: %s", type(exc).__name__)
            return web.Response(status=400, text="bad update\n")
        if update is None:
            return web.Response(status=400, text="bad update\n")
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)
        await self._app.update_queue.put(update)
        return web.Response(text="ok\n")


async def serve_webhook(
    app: BotApp,
    settings: Settings,
    stop: asyncio.Event,
    *,
    sock: socket.socket | None = None,
) -> None:
    """Serve Telegram by webhook until `stop` is set, then finish the queued updates."""
    url, secret = settings.webhook_url, settings.webhook_secret_token
    if url is None or secret is None:
        raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    server = WebhookServer(
        app,
        path=webhook_path(url),
        secret=secret,
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        sock=sock,
    )
    # The order of run_webhook: initialize (getMe), post_init, start, then updates flow in.
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        try:
            # Listen before setWebhook, so Telegram's first delivery finds the server up.
            await server.start()
            try:
                await app.bot.set_webhook(
                    url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
                )
                logger.info("serving Telegram by webhook")
                await stop.wait()
            finally:
                await server.stop()
        finally:
            await app.stop()  # handles what was queued before returning
            if app.post_stop is not None:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
