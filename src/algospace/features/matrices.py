"""Matrix assemblers: the 30-minute (48 x 8) and 5-minute (60 x 7) windows the decision core reads.

Each assembler has a batch path (`features_30m` / `features_5m` give one scaled row per bar,
`window_30m` / `window_5m` cut the window ending at bar t) and an incremental path
(`Matrix30mAssembler` / `Matrix5mAssembler`, `update(bar)` -> the current window or None
during warm-up) that give identical values. Rows are built from the "raw" indicator rows
(`raw_30m` / `raw_5m`, also used by the synergy detector) by one scaling function per
timeframe, applied to whole columns in batch and to one row when streaming.

Scaling, so a model sees values of order 1 (docs/indicators.md has the full table):
- 30 minutes (MLMI and NW-RQK on Heikin-Ashi bars; LVN, ATR and the close on plain bars):
  mlmi_value (value - 50) / 50; mlmi_signal -1/0/+1; nwrqk_value (line - close) / ATR;
  nwrqk_slope slope / ATR; lvn_distance (close - node) / ATR (0 when no node);
  lvn_strength strength / 100; hour_sin, hour_cos of the bar's open time in exchange time.
- 5 minutes (plain bars): fvg_bull_active, fvg_bear_active 0/1; fvg_distance
  (close - nearest gap middle) / ATR (0 when none); fvg_age age / expiry (0 when none);
  fvg_mitigation -1/0/+1; momentum_5 (close - close 5 bars back) / ATR;
  volume_ratio ln((volume + 1) / (mean volume of the previous 20 bars + 1)).
ATR-unit values are clipped to [-clip, clip] (10 by default).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from algospace.data import HeikinAshi, heikin_ashi
from algospace.data.timezones import check_timezone
from algospace.errors import DataError, InputError
from algospace.features.indicators import (
    ATR,
    FVG,
    LVN,
    MLMI,
    NWRQK,
    RSI,
    FVGParams,
    LVNParams,
    MLMIParams,
    NWRQKParams,
    atr,
    fvg,
    lvn,
    mlmi,
    nwrqk,
    rsi,
)
from algospace.features.bar_check import check_bars
from algospace.data.stream_bar import StreamClock
from algospace.features.indicators.parameters import Params, layout_fingerprint

MATRIX_30M_COLUMNS = (
    "mlmi_value", "mlmi_signal", "nwrqk_value", "nwrqk_slope", "lvn_distance", "lvn_strength", "hour_sin", "hour_cos",
)
MATRIX_5M_COLUMNS = (
    "fvg_bull_active", "fvg_bear_active", "fvg_distance", "fvg_age", "fvg_mitigation", "momentum_5", "volume_ratio",
)
MATRIX_LAYOUT_VERSION = 1  # bump when a column's meaning or scaling changes
RAW_30M_COLUMNS = (
    "close", "atr", "rsi", "mlmi_value", "mlmi_ma", "mlmi_signal", "nwrqk_value", "nwrqk_fast", "nwrqk_slope",
    "nwrqk_signal", "lvn_poc", "lvn_price", "lvn_distance", "lvn_strength", "lvn_count", "hour",
)
RAW_5M_COLUMNS = (
    "close", "atr", "rsi", "fvg_bull_new", "fvg_bear_new", "fvg_bull_active", "fvg_bear_active", "fvg_nearest_level",
    "fvg_nearest_age", "fvg_nearest_dir", "fvg_mitigation", "fvg_mitigated_size", "momentum", "volume_ratio", "hour",
)


class _MatrixParams(Params):
    """What both assemblers' parameters share: the clock of the hour encoding and the layout
    fingerprint (kind and columns set by each subclass)."""

    _layout: ClassVar[tuple[str, tuple[str, ...]]]
    timezone: str = "America/New_York"  # clock of the hour-of-day encoding (exchange time)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        return check_timezone(v)

    def fingerprint(self) -> str:
        """sha256 of the matrix layout (columns, scaling version, every parameter)."""
        kind, columns = self._layout
        return layout_fingerprint(kind, MATRIX_LAYOUT_VERSION, columns, self)


class Matrix30mParams(_MatrixParams):
    """Parameters of the 30-minute assembler (and of the 30-minute half of the synergy detector)."""

    _layout = ("matrix_30m", MATRIX_30M_COLUMNS)
    window: int = Field(48, ge=1)
    atr_period: int = Field(14, ge=1)
    rsi_period: int = Field(14, ge=1)
    clip: float = Field(10.0, gt=0)  # bound for ATR-unit values
    mlmi: MLMIParams = MLMIParams()
    nwrqk: NWRQKParams = NWRQKParams()
    lvn: LVNParams = LVNParams()


class Matrix5mParams(_MatrixParams):
    """Parameters of the 5-minute assembler (and of the 5-minute half of the synergy detector)."""

    _layout = ("matrix_5m", MATRIX_5M_COLUMNS)
    window: int = Field(60, ge=1)
    atr_period: int = Field(14, ge=1)
    rsi_period: int = Field(14, ge=1)
    momentum: int = Field(5, ge=1)  # bars of the momentum column
    volume_lookback: int = Field(20, ge=1)  # bars of the volume-ratio mean (before the current bar)
    clip: float = Field(10.0, gt=0)
    fvg: FVGParams = FVGParams()


def _hours(index: pd.DatetimeIndex, tz: str) -> np.ndarray:
    local = index.tz_convert(tz)
    return np.asarray(local.hour + local.minute / 60.0, dtype=np.float64)


def _hour(ts: pd.Timestamp, tz: str) -> float:
    local = ts.tz_convert(tz)
    return local.hour + local.minute / 60.0


def _clip(x: Any, c: float) -> Any:
    return np.clip(x, -c, c)


def scale_30m(r: Mapping[str, Any], p: Matrix30mParams) -> list[Any]:
    """Raw 30-minute values (columns or one row) -> the 8 matrix values, in MATRIX_30M_COLUMNS order."""
    a = r["atr"]
    ang = 2.0 * np.pi * r["hour"] / 24.0
    lvn_d = np.where(np.isnan(r["lvn_distance"]) & ~np.isnan(r["lvn_poc"]), 0.0, r["lvn_distance"] / a)
    return [
        (r["mlmi_value"] - 50.0) / 50.0,
        r["mlmi_signal"] * 1.0,
        _clip((r["nwrqk_value"] - r["close"]) / a, p.clip),
        _clip(r["nwrqk_slope"] / a, p.clip),
        _clip(lvn_d, p.clip),
        r["lvn_strength"] / 100.0,
        np.sin(ang),
        np.cos(ang),
    ]


def scale_5m(r: Mapping[str, Any], p: Matrix5mParams) -> list[Any]:
    """Raw 5-minute values (columns or one row) -> the 7 matrix values, in MATRIX_5M_COLUMNS order."""
    a = r["atr"]
    none = np.isnan(r["fvg_nearest_level"])
    return [
        r["fvg_bull_active"] * 1.0,
        r["fvg_bear_active"] * 1.0,
        np.where(none, 0.0, _clip((r["close"] - r["fvg_nearest_level"]) / a, p.clip)),
        np.where(none, 0.0, r["fvg_nearest_age"] / p.fvg.expiry),
        r["fvg_mitigation"] * 1.0,
        _clip(r["momentum"] / a, p.clip),
        r["volume_ratio"] * 1.0,
    ]


# ----------------------------------------------------------------------------- raw rows, batch
def raw_30m(bars_30m: pd.DataFrame, params: Matrix30mParams | None = None) -> pd.DataFrame:
    """Unscaled 30-minute indicator rows (RAW_30M_COLUMNS) from plain 30-minute bars.

    MLMI and NW-RQK run on the Heikin-Ashi candles of these bars, as in the original; LVN, ATR
    and RSI on the plain bars (a volume profile and a volatility unit need traded prices).
    """
    p = params or Matrix30mParams()
    a = check_bars(bars_30m, "raw_30m")
    ha = heikin_ashi(bars_30m)
    out = pd.concat(
        [
            pd.Series(a["close"], index=bars_30m.index, name="close"),
            atr(bars_30m, p.atr_period),
            rsi(bars_30m, p.rsi_period),
            mlmi(ha, p.mlmi),
            nwrqk(ha, p.nwrqk),
            lvn(bars_30m, p.lvn),
            pd.Series(_hours(bars_30m.index, p.timezone), index=bars_30m.index, name="hour"),
        ],
        axis=1,
    )
    return out[list(RAW_30M_COLUMNS)]


def raw_5m(bars_5m: pd.DataFrame, params: Matrix5mParams | None = None) -> pd.DataFrame:
    """Unscaled 5-minute rows (RAW_5M_COLUMNS) from plain 5-minute bars (FVG on plain candles)."""
    p = params or Matrix5mParams()
    a = check_bars(bars_5m, "raw_5m")
    c, v = a["close"], a["volume"]
    n = c.shape[0]
    mom = np.full(n, np.nan)
    if n > p.momentum:
        mom[p.momentum :] = c[p.momentum :] - c[: -p.momentum]
    vr = np.full(n, np.nan)
    L = p.volume_lookback
    if n > L:
        prev_mean = np.lib.stride_tricks.sliding_window_view(v, L)[:-1].mean(axis=1)  # bars t-L .. t-1
        vr[L:] = np.log((v[L:] + 1.0) / (prev_mean + 1.0))
    out = pd.concat(
        [
            pd.Series(c, index=bars_5m.index, name="close"),
            atr(bars_5m, p.atr_period),
            rsi(bars_5m, p.rsi_period),
            fvg(bars_5m, p.fvg),
            pd.DataFrame({"momentum": mom, "volume_ratio": vr, "hour": _hours(bars_5m.index, p.timezone)}, index=bars_5m.index),
        ],
        axis=1,
    )
    return out[list(RAW_5M_COLUMNS)]


# ----------------------------------------------------------------------------- raw rows, streaming
class Raw30mStream:
    """Bar-by-bar twin of `raw_30m`: `update(bar)` returns the raw row as a dict."""

    def __init__(self, params: Matrix30mParams | None = None) -> None:
        self.params = p = params or Matrix30mParams()
        self._clock = StreamClock("Raw30mStream.update", need_time=True)
        self._ha = HeikinAshi()
        self._atr, self._rsi = ATR(p.atr_period), RSI(p.rsi_period)
        self._mlmi, self._nwrqk, self._lvn = MLMI(p.mlmi), NWRQK(p.nwrqk), LVN(p.lvn)

    def update(self, bar: Any) -> dict[str, float]:
        ts, o, h, lo, c, v = self._clock.read(bar)
        ha = self._ha.update({"open": o, "high": h, "low": lo, "close": c, "volume": v})
        row = {"close": c, "atr": self._atr.step(h, lo, c), "rsi": self._rsi.step(c)}
        row.update(self._mlmi.step(ha["close"]))
        row.update(self._nwrqk.step(ha["close"]))
        row.update(self._lvn.step(h, lo, c, v))
        row["hour"] = _hour(ts, self.params.timezone)  # type: ignore[arg-type]
        return row


class Raw5mStream:
    """Bar-by-bar twin of `raw_5m`."""

    def __init__(self, params: Matrix5mParams | None = None) -> None:
        self.params = p = params or Matrix5mParams()
        self._clock = StreamClock("Raw5mStream.update", need_time=True)
        self._atr, self._rsi, self._fvg = ATR(p.atr_period), RSI(p.rsi_period), FVG(p.fvg)
        self._closes: deque[float] = deque(maxlen=p.momentum + 1)
        self._vols: deque[float] = deque(maxlen=p.volume_lookback + 1)

    def update(self, bar: Any) -> dict[str, float]:
        ts, _o, h, lo, c, v = self._clock.read(bar)
        p = self.params
        row = {"close": c, "atr": self._atr.step(h, lo, c), "rsi": self._rsi.step(c)}
        row.update(self._fvg.step(h, lo, c))
        self._closes.append(c)
        row["momentum"] = c - self._closes[0] if len(self._closes) == p.momentum + 1 else float("nan")
        self._vols.append(v)
        if len(self._vols) == p.volume_lookback + 1:
            prev = np.asarray(self._vols, dtype=np.float64)[None, :-1].mean(axis=1)[0]
            row["volume_ratio"] = float(np.log((v + 1.0) / (prev + 1.0)))
        else:
            row["volume_ratio"] = float("nan")
        row["hour"] = _hour(ts, p.timezone)  # type: ignore[arg-type]
        return row


# ----------------------------------------------------------------------------- matrices, batch
def _frame(values: list[Any], index: pd.Index, columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(np.column_stack([np.asarray(v, dtype=np.float64) for v in values]), index=index, columns=list(columns))


def features_30m(bars_30m: pd.DataFrame, params: Matrix30mParams | None = None) -> pd.DataFrame:
    """Scaled 30-minute matrix rows (MATRIX_30M_COLUMNS), one per bar; NaN rows during warm-up.

    Example: `window_30m(features_30m(make_bars(sample("spy-1m"), 30, "SPY")), -1)` -> (48, 8).
    """
    p = params or Matrix30mParams()
    raw = raw_30m(bars_30m, p)
    return _frame(scale_30m({k: raw[k].to_numpy() for k in RAW_30M_COLUMNS}, p), raw.index, MATRIX_30M_COLUMNS)


def features_5m(bars_5m: pd.DataFrame, params: Matrix5mParams | None = None) -> pd.DataFrame:
    """Scaled 5-minute matrix rows (MATRIX_5M_COLUMNS), one per bar; NaN rows during warm-up."""
    p = params or Matrix5mParams()
    raw = raw_5m(bars_5m, p)
    return _frame(scale_5m({k: raw[k].to_numpy() for k in RAW_5M_COLUMNS}, p), raw.index, MATRIX_5M_COLUMNS)


def matrix_window(features: pd.DataFrame, t: int | pd.Timestamp, window: int, who: str = "matrix_window") -> np.ndarray:
    """The (window, n_features) float64 block of `features` ending at bar t (position or timestamp).

    Raises InputError when fewer than `window` rows end at t, DataError when the block holds a
    NaN (warm-up rows, or features computed from bad data).
    """
    if not isinstance(features, pd.DataFrame):
        raise InputError(f"{who} expects the DataFrame from features_30m/features_5m; received {type(features).__name__}.")
    n = len(features)
    if isinstance(t, pd.Timestamp):
        if t not in features.index:
            raise InputError(f"{who}: bar {t} is not in the features index ({features.index[0] if n else '-'} .. {features.index[-1] if n else '-'}).")
        pos = int(features.index.get_loc(t))
    elif isinstance(t, (int, np.integer)) and not isinstance(t, bool):
        pos = int(t) + n if t < 0 else int(t)
        if not 0 <= pos < n:
            raise InputError(f"{who}: bar position {t} is outside the {n} feature rows.")
    else:
        raise InputError(f"{who}: t must be a row position (int) or a timestamp in the index; received {t!r}.")
    if pos + 1 < window:
        raise InputError(
            f"{who}: a window needs {window} bars ending at bar {pos} ({features.index[pos]}); only {pos + 1} are there. "
            f"Pass at least {window} bars of history (plus the indicators' warm-up)."
        )
    block = features.to_numpy(dtype=np.float64)[pos + 1 - window : pos + 1]
    bad = np.argwhere(~np.isfinite(block))
    if bad.size:
        r, c = bad[0]
        first_ok = features.notna().all(axis=1)
        ready = features.index[first_ok.to_numpy()][0] if first_ok.any() else None
        raise DataError(
            f"{who}: the {window}-bar window ending at {features.index[pos]} holds NaN in {features.columns[c]!r} at "
            f"{features.index[pos + 1 - window + r]} (indicator warm-up). The first complete row is at {ready}; "
            f"pick a later bar or pass more history."
        )
    return block.copy()


def window_30m(features: pd.DataFrame, t: int | pd.Timestamp, params: Matrix30mParams | None = None) -> np.ndarray:
    """The (48, 8) 30-minute matrix ending at bar t (see `matrix_window` for errors)."""
    return matrix_window(features, t, (params or Matrix30mParams()).window, "window_30m")


def window_5m(features: pd.DataFrame, t: int | pd.Timestamp, params: Matrix5mParams | None = None) -> np.ndarray:
    """The (60, 7) 5-minute matrix ending at bar t (see `matrix_window` for errors)."""
    return matrix_window(features, t, (params or Matrix5mParams()).window, "window_5m")


def all_windows(features: pd.DataFrame, window: int) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Every complete window at once (for training): ((N, window, F) float64, end timestamps).

    Windows that contain a NaN row (warm-up) are left out.
    """
    x = features.to_numpy(dtype=np.float64)
    if len(x) < window:
        return np.empty((0, window, x.shape[1])), features.index[:0]
    w = np.lib.stride_tricks.sliding_window_view(x, window, axis=0).transpose(0, 2, 1)  # (N, window, F)
    ok = np.isfinite(w).all(axis=(1, 2))
    return w[ok].copy(), features.index[window - 1 :][ok]


# ----------------------------------------------------------------------------- matrices, streaming
class _Assembler:
    """Rolling window of scaled rows. Each row is written twice into a (2 x window) buffer so
    the latest `window` rows are always one contiguous slice (no per-bar stacking). Each
    subclass names its parameters, columns, raw stream and scaling."""

    _params_type: Any
    _columns: tuple[str, ...]
    _raw_type: Any
    _scale: Any

    def __init__(self, params: Any = None) -> None:
        self.params = params or self._params_type()
        self._raw = self._raw_type(self.params)
        window, width = self.params.window, len(self._columns)
        self.window = window
        self._buf = np.full((2 * window, width), np.nan)
        self._pos = 0  # rows written
        self._last_bad = -1  # index of the last row holding a NaN (warm-up)
        self.raw: dict[str, float] | None = None  # the latest raw indicator row
        self.row: np.ndarray | None = None  # the latest scaled row

    def _push(self, row: np.ndarray) -> np.ndarray | None:
        self.row = row
        w, i = self.window, self._pos % self.window
        self._buf[i] = row
        self._buf[i + w] = row
        if not np.isfinite(row).all():
            self._last_bad = self._pos
        self._pos += 1
        if self._pos < w or self._last_bad > self._pos - 1 - w:
            return None
        start = self._pos % w
        return self._buf[start : start + w].copy()

    def update(self, bar: Any) -> np.ndarray | None:
        """Add one closed bar; return the scaled window, or None in warm-up."""
        return self.push_raw(self._raw.update(bar))

    def push_raw(self, raw: dict[str, float]) -> np.ndarray | None:
        """Add the raw indicator row of one closed bar that another stream computed (the synergy
        detector's rows, same parameters); return the scaled window, or None in warm-up."""
        self.raw = raw
        return self._push(np.array(type(self)._scale(raw, self.params), dtype=np.float64))


class Matrix30mAssembler(_Assembler):
    """Streaming 30-minute matrix: `update(bar)` -> (48, 8) float64 window, or None in warm-up.

    Feed plain 30-minute bars (Heikin-Ashi is applied inside), each once it has closed.
    """

    params: Matrix30mParams
    _params_type, _columns, _raw_type, _scale = Matrix30mParams, MATRIX_30M_COLUMNS, Raw30mStream, scale_30m

    def __init__(self, params: Matrix30mParams | None = None) -> None:
        super().__init__(params)


class Matrix5mAssembler(_Assembler):
    """Streaming 5-minute matrix: `update(bar)` -> (60, 7) float64 window, or None in warm-up."""

    params: Matrix5mParams
    _params_type, _columns, _raw_type, _scale = Matrix5mParams, MATRIX_5M_COLUMNS, Raw5mStream, scale_5m

    def __init__(self, params: Matrix5mParams | None = None) -> None:
        super().__init__(params)
