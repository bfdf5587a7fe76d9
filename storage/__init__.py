"""All SQL of the bot: one module per aggregate, opened through `open_database`."""

from storage.db import Database, open_database

__all__ = ["Database", "open_database"]
