"""The file-reading options every command that reads market data takes (one definition).

    --format auto|ninjatrader|tradingview|sierra|metatrader|ib|databento|yfinance|plain
    --time-column NAME   --timezone ZONE   --dayfirst/--monthfirst
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Optional, TypeVar

import typer

Format = Annotated[
    str,
    typer.Option("--format", help="File layout: auto (detect from the content), ninjatrader, tradingview, sierra, metatrader, ib, "
                 "databento, yfinance or plain (see docs/data.md)."),
]
TimeColumn = Annotated[
    Optional[str], typer.Option("--time-column", help="Name of the time column (default: timestamp, datetime, date, time, ... or the format's own).")
]
Timezone = Annotated[
    Optional[str], typer.Option("--timezone", help="IANA zone of times without a UTC offset, e.g. America/Chicago (default: config data.timezone, UTC).")
]
Dayfirst = Annotated[
    Optional[bool],
    typer.Option("--dayfirst/--monthfirst", help="Order of dates such as 02.01.2017 when the whole column cannot tell "
                 "(default: inferred; refused when ambiguous)."),
]


@dataclass(frozen=True)
class ReadOptions:
    """The four options as given; `kwargs()` checks them when the command reads its data."""

    format: str = "auto"
    time_column: str | None = None
    timezone: str | None = None
    dayfirst: bool | None = None

    def kwargs(self) -> dict[str, Any]:
        return read_options(self.format, self.time_column, self.timezone, self.dayfirst)


F = TypeVar("F", bound=Callable[..., Any])

_PARAMS = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
           for name, annotation, default in (("format", Format, "auto"), ("time_column", TimeColumn, None),
                                             ("timezone", Timezone, None), ("dayfirst", Dayfirst, None))]


def with_read_options(command: F) -> F:
    """Adds --format/--time-column/--timezone/--dayfirst (last, in that order) to a typer command
    that takes a `read: ReadOptions` parameter, so every command that reads market data declares
    them once. Typer reads a command's options from its signature, hence the rewritten one."""
    sig = inspect.signature(command, eval_str=True)
    kept = [p for name, p in sig.parameters.items() if name != "read"]

    @functools.wraps(command)
    def wrapper(*args: Any, format: str = "auto", time_column: str | None = None, timezone: str | None = None,
                dayfirst: bool | None = None, **kwargs: Any) -> Any:
        return command(*args, read=ReadOptions(format, time_column, timezone, dayfirst), **kwargs)

    wrapper.__signature__ = sig.replace(parameters=kept + _PARAMS)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in kept + _PARAMS} | {"return": sig.return_annotation}
    return wrapper  # type: ignore[return-value]


def read_options(format: str, time_column: str | None, timezone: str | None, dayfirst: bool | None) -> dict[str, Any]:
    """The keyword arguments `load_data`/`describe`/`load_bars` take for these options."""
    from algospace.data.formats import check_format

    return {"format": check_format(format), "timestamp_column": time_column, "timezone": timezone, "dayfirst": dayfirst}


__all__ = ["Format", "TimeColumn", "Timezone", "Dayfirst", "ReadOptions", "read_options", "with_read_options"]
