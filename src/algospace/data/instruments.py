"""Instrument specs: point value, tick size and trading calendar per tradable symbol.

Built-ins: ES and MES (CME E-mini / Micro E-mini S&P 500 futures) and SPY (the bundled sample's
ETF). For SPY one "contract" is ONE SHARE: point value 1.0 USD per 1.0 price move, so risk in
dollars = stop distance x shares. User-defined instruments come from the config
(`instruments:` list, see `algospace.config.InstrumentConfig`) and override a built-in of the
same name.
"""

from __future__ import annotations

import difflib
import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from algospace.data.bounds import DEFAULT_BOUNDS, Bounds
from algospace.data.calendars import ExchangeCalendar, get_calendar
from algospace.errors import ConfigError, InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Instrument:
    """A tradable symbol: `point_value` currency per 1.0 price move per contract, `tick_size` grid,
    `bounds` the plausible price and volume magnitudes of its data."""

    name: str
    point_value: float
    tick_size: float
    session: str
    currency: str = "USD"
    description: str = ""
    bounds: Bounds = DEFAULT_BOUNDS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.point_value) and self.point_value > 0):
            raise InputError(f"Instrument {self.name}: point_value must be a finite number > 0; received {self.point_value}.")
        if not (math.isfinite(self.tick_size) and self.tick_size > 0):
            raise InputError(f"Instrument {self.name}: tick_size must be a finite number > 0; received {self.tick_size}.")
        get_calendar(self.session)  # fail early on an unknown calendar name

    @property
    def calendar(self) -> ExchangeCalendar:
        """The trading calendar that decides this instrument's bar boundaries."""
        return get_calendar(self.session)

    @property
    def tick_value(self) -> float:
        """Currency value of one tick per contract (ES: 12.50)."""
        return self.point_value * self.tick_size

    def _decimals(self) -> int:
        # Enough decimals to print the tick exactly; used to strip float noise like 0.30000000000000004.
        text = f"{self.tick_size:.12f}".rstrip("0")
        return len(text.split(".")[1]) if "." in text else 0

    def round_to_tick(self, price: float | np.ndarray, mode: str = "nearest") -> float | np.ndarray:
        """Snap `price` to the tick grid (`mode`: nearest, down, up). Works on scalars and arrays."""
        fn = {"nearest": np.round, "down": np.floor, "up": np.ceil}.get(mode)
        if fn is None:
            raise InputError(f"round_to_tick mode must be 'nearest', 'down' or 'up'; received {mode!r}.")
        arr = np.asarray(price, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise InputError(f"round_to_tick needs finite prices; received {price!r}.")
        # A tiny epsilon keeps e.g. 4500.125/0.25 = 18000.4999999 from flooring wrongly.
        steps = arr / self.tick_size
        if mode != "nearest":
            steps = np.round(steps, 9)
        steps = fn(steps)
        out = np.round(steps * self.tick_size, self._decimals())
        return float(out) if np.ndim(out) == 0 else out

    def pnl(self, price_move: float, contracts: float = 1.0) -> float:
        """Currency P&L of a `price_move` on `contracts` contracts."""
        return float(price_move) * self.point_value * float(contracts)


BUILTIN_INSTRUMENTS: dict[str, Instrument] = {
    "ES": Instrument("ES", 50.0, 0.25, "cme-globex", "USD", "CME E-mini S&P 500 future; 1 contract = 50 USD x index."),
    "MES": Instrument("MES", 5.0, 0.25, "cme-globex", "USD", "CME Micro E-mini S&P 500 future; 1 contract = 5 USD x index."),
    "SPY": Instrument(
        "SPY", 1.0, 0.01, "nyse-rth", "USD", "SPDR S&P 500 ETF (bundled sample); 1 contract = 1 share, point value 1.0 USD."
    ),
}


def list_instruments() -> dict[str, Instrument]:
    """Built-in instruments plus the active config's user-defined ones (config wins on a clash)."""
    from algospace.config import get_config

    out = dict(BUILTIN_INSTRUMENTS)
    for ic in get_config().instruments:
        key = ic.name.upper()
        if key in out:
            log.info("config instrument %s overrides the built-in spec", key)
        given = {k: getattr(ic, k) for k in ("min_price", "max_price", "max_volume") if getattr(ic, k, None) is not None}
        try:
            bounds = Bounds(**{**DEFAULT_BOUNDS.__dict__, **given})
        except InputError as exc:
            raise ConfigError(f"instruments: {ic.name}: {exc}") from exc
        out[key] = Instrument(key, ic.point_value, ic.tick_size, ic.session, ic.currency, "user-defined (config)", bounds)
    return out


def get_instrument(name: str | Instrument) -> Instrument:
    """The instrument called `name` (case-insensitive), with a did-you-mean hint when unknown."""
    if isinstance(name, Instrument):
        return name
    known = list_instruments()
    key = str(name).strip().upper()
    if key in known:
        return known[key]
    hint = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
    extra = f" Did you mean '{hint[0]}'?" if hint else ""
    raise InputError(
        f"Unknown instrument '{name}'; known: {sorted(known)}.{extra} "
        "Define others under `instruments:` in the config file."
    )


def resolve_instrument(instrument: str | Instrument | None, data: pd.DataFrame | None = None) -> Instrument:
    """The instrument to use: `instrument` when given, else `data.attrs["instrument"]` (set by
    `sample()` and `make_bars`), else the config's `data.instrument`.

    Lets CLIs and functions default `--instrument`/`instrument=` to None and still pick the
    sample's own instrument (SPY for spy-1m) instead of a config default that does not fit.

    Example: ``resolve_instrument(None, sample("spy-1m")).name == "SPY"``
    """
    if instrument is None:
        attrs = getattr(data, "attrs", None) or {}
        instrument = attrs.get("instrument")
    if instrument is None:
        from algospace.config import get_config

        instrument = get_config().data.instrument
    if not isinstance(instrument, (str, Instrument)):
        raise InputError(f"instrument must be a name such as 'ES' or an Instrument; received {type(instrument).__name__} {instrument!r}.")
    return get_instrument(instrument)


__all__ = ["Instrument", "BUILTIN_INSTRUMENTS", "get_instrument", "list_instruments", "resolve_instrument"]
