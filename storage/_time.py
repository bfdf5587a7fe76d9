"""How every table stores a moment: UTC, ISO 8601, to the second."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["day", "from_iso", "iso"]


def iso(moment: datetime) -> str:
    """Format a UTC moment the way every table stores it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    """Parse a stored moment."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)  # "...Z": UTC, as stored


def day(moment: datetime) -> str:
    """Format the UTC day of a moment, for rows that must not carry the time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
