"""The one way from any bars or ticks to N-minute session bars (what the RDE, its training,
evaluation and the CLI all feed on).

`session_bars` validates its input once (the bars or ticks contract), then aggregates with
`make_bars`' rules (bars aligned to the instrument's sessions, no bar spans a session break).
Bars already `minutes` apart pass through; coarser bars are refused. The instrument comes from
the caller or from the data (`attrs["instrument"]`, set by `sample()` and `make_bars`); it is
never guessed, since it decides the session boundaries.
"""

from __future__ import annotations

import pandas as pd

from algospace.data.aggregate import _arrays, _check_minutes, aggregate_checked
from algospace.data.bars import BARS_COLUMNS, validate_bars
from algospace.data.instruments import Instrument, get_instrument
from algospace.data.loaders import TICKS_COLUMNS, validate_ticks
from algospace.errors import DataError, InputError


def _kind(data: pd.DataFrame) -> str:
    cols = set(data.columns)
    if set(BARS_COLUMNS) <= cols:
        return "bars"
    if set(TICKS_COLUMNS) <= cols:
        return "ticks"
    raise InputError(
        f"Expected bars (columns {list(BARS_COLUMNS)}) or ticks (columns {list(TICKS_COLUMNS)}); "
        f"found columns {list(map(str, data.columns))}. Load files with algospace.data.load_data."
    )


def data_instrument(instrument: str | Instrument | None, data: pd.DataFrame) -> Instrument | None:
    """The caller's instrument, else the one the data names (`attrs["instrument"]`), else None."""
    if instrument is None:
        instrument = (getattr(data, "attrs", None) or {}).get("instrument")
    if instrument is None:
        return None
    if not isinstance(instrument, (str, Instrument)):
        raise InputError(f"instrument must be a name such as 'ES' or an Instrument; received {type(instrument).__name__} {instrument!r}.")
    return get_instrument(instrument)


def session_bars(data: pd.DataFrame, minutes: int = 30, instrument: str | Instrument | None = None) -> pd.DataFrame:
    """`minutes`-minute bars aligned to the instrument's sessions, from ticks or finer bars.

    Bars already `minutes` apart (median spacing) pass through as they are; coarser bars are a
    DataError. `instrument=None` takes the data's own (`attrs["instrument"]`); when neither
    names one, InputError (it decides where sessions open, so it is not guessed). The result's
    `attrs` hold `instrument` and `minutes`.

    Example: ``bars30 = session_bars(sample("es-ticks"), 30)``  # ES sessions, from the data
    """
    minutes = _check_minutes(minutes)
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"session_bars expects a DataFrame of bars or ticks; received {type(data).__name__}.")
    kind = _kind(data)
    inst = data_instrument(instrument, data)
    bounds = inst.bounds if inst is not None else None
    if kind == "ticks":
        validate_ticks(data, bounds=bounds)
    else:
        validate_bars(data, bounds=bounds)
        if len(data) < 2:
            raise DataError(f"Need at least 2 bars to tell the bar size; got {len(data)}.")
        step = pd.Series(data.index).diff().median()
        if step == pd.Timedelta(minutes=minutes):
            out = data.loc[:, list(BARS_COLUMNS)]
            out.attrs = {**data.attrs, "minutes": minutes, **({"instrument": inst.name} if inst else {})}
            return out
        if step > pd.Timedelta(minutes=minutes):
            raise DataError(
                f"Bars are {step} apart; {minutes}-minute bars are built from ticks or finer bars "
                f"(e.g. 1- or 5-minute), or passed through when already {minutes}-minute."
            )
    if inst is None:
        raise InputError(
            f"Cannot tell which instrument these {kind} are (its sessions decide the {minutes}-minute bar "
            "boundaries): pass instrument= (e.g. 'ES', 'SPY'), or --instrument on the command line."
        )
    ts = data.index.as_unit("ns").asi8
    return aggregate_checked(kind, ts, _arrays(data, kind), minutes, inst)


__all__ = ["data_instrument", "session_bars"]
