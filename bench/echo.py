"""A bare python-telegram-bot echo bot: the yardstick of the load benchmark.

Run as `python -m bench.echo URL TOKEN [--concurrent N]`: it polls the Bot API at URL and
answers every text message with its own text, nothing else: no database, no flows, the
library's default HTTP backend (httpx) and no rate limiter. `--concurrent` handles that many
updates at once (python-telegram-bot's own `concurrent_updates`); without it, one at a time.
"""

from __future__ import annotations

import argparse
import logging

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

__all__ = ["main"]


async def _echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def main(argv: list[str] | None = None) -> None:
    """Poll until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.echo")
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("--concurrent", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    builder = Application.builder().token(args.token).base_url(f"{args.url}/bot")
    if args.concurrent:
        builder = builder.concurrent_updates(args.concurrent).connection_pool_size(
            args.concurrent + 4
        )
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    app.run_polling(poll_interval=0.0, timeout=1, drop_pending_updates=False)


if __name__ == "__main__":
    main()
