"""The market a simulation runs on: bars on the tick grid, the instrument, the session calendar,
and the `proxy` statement that every report prints.

The bundled real data is SPY (an ETF). It stands in for ES as an ES-equivalent proxy: prices x 10
(SPY tracks the S&P 500 index / 10, ES tracks the index), snapped to the ES tick grid (0.25),
with ES's $50 point value, or MES's $5. Sessions stay the data's own (NYSE regular hours for
SPY), and volume stays SPY share volume. A user's own ES / MES bars or ticks run unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from algospace.data import Instrument, get_instrument, load_data, make_bars, resolve_instrument
from algospace.data import ExchangeCalendar, SessionCalendar
from algospace.errors import InputError

PROXY_FACTOR = {"SPY": 10.0}  # index points per unit of the source's price
FUTURES = ("ES", "MES")


@dataclass(frozen=True)
class Market:
    """Bars for signals (5 and 30 minutes) and for the simulator (`bars`, `bar_minutes`), all on the
    instrument's tick grid. Build with `Market.load(data, instrument)`.

    `proxy` states what the prices are, e.g. "SPY x10 as ES-equivalent (tick 0.25, $50/point),
    nyse-rth sessions"; "native ES" for a user's own ES data.
    """

    instrument: Instrument
    calendar: ExchangeCalendar | SessionCalendar
    bars_5m: pd.DataFrame
    bars_30m: pd.DataFrame
    bars: pd.DataFrame
    bar_minutes: int
    proxy: str
    source: str = field(default="")

    @classmethod
    def load(cls, data: str | pd.DataFrame = "spy-1m", instrument: str = "ES", *, bar_minutes: int = 5) -> Market:
        """Market on `data` (a sample name, a file path, or a bars / ticks frame) as `instrument`.

        SPY data becomes the ES / MES proxy; ES, MES or other data must already be `instrument`
        (ES data may run as MES: same prices, $5 per point). Example: `Market.load("spy-1m", "MES")`.
        """
        frame = load_data(data) if isinstance(data, str) else data
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"Market.load expects a sample name, a path or a DataFrame; received {type(data).__name__}.")
        src = resolve_instrument(None, frame)
        target = get_instrument(instrument)
        fine, proxy = _as_instrument(frame, src, target)
        bars = {m: make_bars(fine, m, src) for m in sorted({5, 30, bar_minutes})}
        for b in bars.values():
            b.attrs.update({"instrument": target.name, "proxy": proxy})
        name = data if isinstance(data, str) else str(frame.attrs.get("sample", frame.attrs.get("source", "frame")))
        return cls(target, src.calendar, bars[5], bars[30], bars[bar_minutes], bar_minutes, proxy, name)


def _as_instrument(frame: pd.DataFrame, src: Instrument, target: Instrument) -> tuple[pd.DataFrame, str]:
    """The data with prices in `target`'s units and on its tick grid, and the proxy statement."""
    factor, proxy = proxy_for(src, target)
    out = frame.copy()
    cols = ["price"] if "price" in out.columns else ["open", "high", "low", "close"]
    for c in cols:
        # nearest-tick rounding is monotone, so high >= max(open, close) >= low still holds
        out[c] = target.round_to_tick(out[c].to_numpy() * factor)
    out.attrs = {**frame.attrs, "instrument": src.name}
    return out, proxy


def proxy_for(src: Instrument, target: Instrument) -> tuple[float, str]:
    """(price factor, proxy statement) to trade `src` data as `target`; InputError when unsupported.

    The runtime applies the same factor bar by bar (prices x factor, rounded to the tick)."""
    factor = PROXY_FACTOR.get(src.name)
    if src.name == target.name:
        factor, proxy = 1.0, f"native {target.name}"
    elif factor is not None and target.name in FUTURES:
        proxy = (
            f"{src.name} x{factor:g} as {target.name}-equivalent (tick {target.tick_size:g}, ${target.point_value:g}/point), "
            f"{src.calendar.name} sessions"
        )
    elif src.name in FUTURES and target.name in FUTURES:
        factor, proxy = 1.0, f"{src.name} prices as {target.name} (${target.point_value:g}/point)"
    else:
        raise InputError(
            f"Cannot simulate {src.name} data as {target.name}: supported are SPY -> ES/MES (the x10 proxy), ES <-> MES, "
            f"or data of the instrument itself. Pass instrument='{src.name}' or other data."
        )
    return factor, proxy
