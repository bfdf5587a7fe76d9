"""Fitted FAQ classifiers kept on disk between runs, so a restart does not fit them again.

Files are named by a hash of everything the fit read (the phrasings, the examples of what
is not covered, the synonyms, the knobs), so editing the content simply fits anew; the
files hold only numbers and words from the content, nothing about anyone who wrote in.
They live in the user's cache folder ($XDG_CACHE_HOME or ~/.cache, then outreach-bot/);
a folder that cannot be written only means fitting at each start.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FileStore", "default_folder"]

log = logging.getLogger(__name__)
_savez: Any = np.savez  # numpy's stubs read a ** of arrays as its keyword flags


def default_folder() -> Path:
    """Return the user's cache folder for the bot."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "outreach-bot"


class FileStore:
    """One .npz file a fitted classifier, in `folder`."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or default_folder()

    def _path(self, key: str) -> Path:
        return self.folder / f"faq-{key[:32]}.npz"

    def load(self, key: str) -> Mapping[str, np.ndarray] | None:
        try:
            with np.load(self._path(key), allow_pickle=False) as kept:
                return {name: kept[name] for name in kept.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # damaged: fit again
            return None

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Written aside, then renamed: a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                _savez(file, **arrays)
            os.replace(temporary, self._path(key))
        except OSError as error:
            log.info("fitted FAQ classifier not kept (%s): it is fitted at each start", error)
