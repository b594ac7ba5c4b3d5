"""The one check of a time-zone name (config fields, feature parameters and the file loaders)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def check_timezone(name: str) -> str:
    """`name` when it is an IANA time-zone name, else ValueError (pydantic validators turn it
    into their error; the loaders into a DataError naming the file)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown timezone: no IANA time zone {name!r}; use a name such as 'America/New_York' or 'UTC'") from exc
    return name


__all__ = ["check_timezone"]
