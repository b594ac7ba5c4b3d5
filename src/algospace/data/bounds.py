"""Plausible magnitudes of prices and volumes: a row outside them is corrupt, not a market move.

A price of 1e300 or 1e-300, or a volume of 1e300, is finite and positive, so the bars contract
alone lets it through; the features then overflow or clip the damage into dozens of columns.
Every way in (load_bars, load_ticks, validate_bars, make_bars, session_bars, the streams)
refuses such a row with a DataError naming the row, the column and the bound, wherever the row
falls in the file.

The defaults are wide enough for every listed market (sub-cent tokens to Berkshire A shares,
a day of a liquid future's volume); each instrument may set its own (`Instrument.bounds`,
or `min_price`, `max_price`, `max_volume` under `instruments:` in the config file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from algospace.errors import InputError


@dataclass(frozen=True)
class Bounds:
    """Plausible range of one instrument's data: min_price <= price <= max_price, volume <= max_volume."""

    min_price: float = 1e-6
    max_price: float = 1e9
    max_volume: float = 1e15

    def __post_init__(self) -> None:
        vals = (self.min_price, self.max_price, self.max_volume)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in vals) or self.min_price >= self.max_price:
            raise InputError(
                f"Bounds need finite numbers with 0 < min_price < max_price and max_volume > 0; received "
                f"min_price={self.min_price!r}, max_price={self.max_price!r}, max_volume={self.max_volume!r}."
            )

    def violation(self, columns: Mapping[str, np.ndarray]) -> tuple[int, str, float, str, int] | None:
        """The first row (and its column, value and the bound it breaks) outside the bounds, with
        the number of such rows; None when every value is plausible. Columns are checked as
        given; 'volume' against max_volume, every other column as a price. NaN is not judged
        here (the finiteness rule names it)."""
        first: tuple[int, str, float, str] | None = None
        rows = np.zeros(0, dtype=np.int64)
        for col, arr in columns.items():
            with np.errstate(invalid="ignore"):
                if col == "volume":
                    bad_mask = arr > self.max_volume
                else:
                    bad_mask = (arr < self.min_price) | (arr > self.max_price)
            bad = np.flatnonzero(bad_mask)
            if not bad.size:
                continue
            rows = np.union1d(rows, bad)
            i = int(bad[0])
            x = float(arr[i])
            if col == "volume":
                bound = f"max_volume {self.max_volume:g}"
            else:
                bound = f"max_price {self.max_price:g}" if x > self.max_price else f"min_price {self.min_price:g}"
            if first is None or i < first[0]:
                first = (i, col, x, bound)
        return None if first is None else (*first, int(rows.size))

    def message(self, where: str, col: str, value: float, bound: str, count: int, who: str = "") -> str:
        """The one wording of a magnitude error: row, column, value, bound, what to do."""
        side = "above" if bound.startswith("max") else "below"
        owner = f" of {who}" if who else ""
        return (
            f"{where}, column '{col}': {value:g} is {side} the plausible {bound}{owner} ({count} such rows); "
            "a value this size is corrupt data, not a market move. Fix or remove those rows, or widen the "
            "bound (min_price/max_price/max_volume of the instrument under `instruments:` in the config)."
        )


DEFAULT_BOUNDS = Bounds()


def bounds_of(instrument: Any) -> Bounds:
    """The bounds of an Instrument, of an instrument name, or of a frame naming one in
    `attrs["instrument"]`; the defaults when none is known."""
    from algospace.data.instruments import Instrument, get_instrument

    if isinstance(instrument, Instrument):
        return instrument.bounds
    if isinstance(instrument, str):
        return get_instrument(instrument).bounds
    name = (getattr(instrument, "attrs", None) or {}).get("instrument")
    return get_instrument(name).bounds if isinstance(name, (str, Instrument)) else DEFAULT_BOUNDS


__all__ = ["Bounds", "DEFAULT_BOUNDS", "bounds_of"]
