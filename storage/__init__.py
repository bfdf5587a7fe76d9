"""All SQL of the bot: one module per aggregate, opened through `open_database`."""

from storage.db import Database, StorageError, open_database

__all__ = ["Database", "StorageError", "open_database"]
