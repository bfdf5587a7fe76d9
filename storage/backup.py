"""An online copy of the database through sqlite's backup API, safe while the bot runs."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from storage.db import BUSY_TIMEOUT_MS

__all__ = ["BackupError", "backup_database"]


class BackupError(Exception):
    """The copy cannot be made; the message says why."""


def backup_database(source: Path, target: Path, *, force: bool = False) -> int:
    """Copy the database at `source` to `target` as one consistent snapshot; return its size."""
    if not source.is_file():
        raise BackupError(f"there is no database at {str(source)!r}")
    if target.exists() and not force:
        raise BackupError(f"{str(target)!r} exists; add --force to overwrite it")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError("the backup cannot overwrite the database itself")
    if not target.parent.is_dir():
        raise BackupError(f"folder {str(target.parent)!r} does not exist")
    part = target.with_name(target.name + ".part")
    try:
        _remove(part)
        # The copy names the campaign's people: readable by this account only, from the start.
        os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _copy(source, part)
        os.replace(part, target)
    except (OSError, sqlite3.Error) as exc:
        _remove(part)
        raise BackupError(f"could not copy {str(source)!r} to {str(target)!r}: {exc}") from exc
    return target.stat().st_size


def _copy(source: Path, part: Path) -> None:
    """Copy in one step: under WAL that reads one snapshot and never blocks the bot's writes."""
    # mode=rw: never create an empty database where the real one was expected.
    uri = f"{source.resolve().as_uri()}?mode=rw"
    src = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(part)
        try:
            src.backup(dst)
            # A single self-contained file (no -wal beside it), ready to copy back as it is.
            dst.execute("PRAGMA journal_mode=DELETE")
            (check,) = dst.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(f"the copy fails its check: {check}")
        finally:
            dst.close()
    finally:
        src.close()
    with open(part, "rb") as file:
        os.fsync(file.fileno())


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
