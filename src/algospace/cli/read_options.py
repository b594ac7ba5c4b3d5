"""The file-reading options every command that reads market data takes (one definition).

    --format auto|ninjatrader|tradingview|sierra|metatrader|ib|databento|yfinance|plain
    --time-column NAME   --timezone ZONE   --dayfirst/--monthfirst
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

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


def read_options(format: str, time_column: str | None, timezone: str | None, dayfirst: bool | None) -> dict[str, Any]:
    """The keyword arguments `load_data`/`describe`/`load_bars` take for these options."""
    from algospace.data.formats import check_format

    return {"format": check_format(format), "timestamp_column": time_column, "timezone": timezone, "dayfirst": dayfirst}


__all__ = ["Format", "TimeColumn", "Timezone", "Dayfirst", "read_options"]
