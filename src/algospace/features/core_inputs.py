"""What the decision core reads at a signal, besides the regime vector: the 30-minute matrix
(48 x 8), the 5-minute matrix (60 x 7) and a 5-value LVN summary, in batch and streaming.

Timing follows the synergy detector (features/synergy.py): at a signal on the 5-minute bar that
opens at t, the 30-minute context is the last 30-minute bar that had CLOSED by t (open + 30 min
<= t); the 5-minute context ends with the signal bar itself (it has closed when the signal is
acted on). Nothing from an unfinished bar is used.

LVN summary (from the 30-minute LVN indicator; ATR = 30-minute Wilder ATR):
  lvn_distance  (close - nearest LVN price) / ATR, clipped to +/-clip (0 when no node)
  lvn_strength  node strength / 100 (0 when no node)
  lvn_count     number of LVN bins / 10, at most 1
  poc_distance  (close - point of control) / ATR, clipped (0 before the profile exists)
  lvn_present   1 when a node exists, else 0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from algospace.errors import InputError
from algospace.features.matrices import (
    Matrix5mAssembler,
    Matrix5mParams,
    Matrix30mAssembler,
    Matrix30mParams,
    features_5m,
    features_30m,
    raw_30m,
)

LVN_SUMMARY_NAMES = ("lvn_distance", "lvn_strength", "lvn_count", "poc_distance", "lvn_present")


def lvn_summary(raw: Mapping[str, Any], clip: float = 10.0) -> np.ndarray:
    """The 5 LVN values from raw 30-minute rows: columns (-> (N, 5)) or one row (-> (5,)).

    The one builder, used by training (columns) and the runtime (one row) alike.
    """
    close, atr = np.asarray(raw["close"], float), np.asarray(raw["atr"], float)
    price, poc = np.asarray(raw["lvn_price"], float), np.asarray(raw["lvn_poc"], float)
    present = np.isfinite(price)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.where(present, np.clip((close - price) / atr, -clip, clip), 0.0)
        poc_d = np.where(np.isfinite(poc), np.clip((close - poc) / atr, -clip, clip), 0.0)
    strength = np.where(present, np.asarray(raw["lvn_strength"], float) / 100.0, 0.0)
    count = np.minimum(np.nan_to_num(np.asarray(raw["lvn_count"], float)), 10.0) / 10.0
    out = np.stack([dist, strength, count, poc_d, present.astype(float)], axis=-1)
    return np.where(np.isfinite(out), out, np.nan)  # NaN ATR in warm-up stays NaN: the row is not ready


@dataclass(frozen=True)
class CoreFrames:
    """Batch features for every bar, computed once per data set."""

    f30: pd.DataFrame  # features_30m rows
    f5: pd.DataFrame  # features_5m rows
    lvn: np.ndarray  # (N30, 5) LVN summaries
    close30_ns: np.ndarray  # (N30,) close time (open + bar length) of each 30-minute bar, ns UTC
    m30_window: int
    m5_window: int


def core_frames(bars_5m: pd.DataFrame, bars_30m: pd.DataFrame, p30: Matrix30mParams | None = None,
                p5: Matrix5mParams | None = None, bar_minutes_30: int = 30) -> CoreFrames:
    """Everything `core_inputs` cuts windows from (one pass over the bars)."""
    p30, p5 = p30 or Matrix30mParams(), p5 or Matrix5mParams()
    raw = raw_30m(bars_30m, p30)
    close_ns = bars_30m.index.asi8 + bar_minutes_30 * 60 * 1_000_000_000
    return CoreFrames(features_30m(bars_30m, p30), features_5m(bars_5m, p5), lvn_summary(raw, p30.clip),
                      close_ns, p30.window, p5.window)


def core_inputs(frames: CoreFrames, signal_times: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows at each signal (5-minute bar open times) -> (m30 (N,48,8), m5 (N,60,7), lvn (N,5),
    pos30 (N,) the 30-minute bar each signal sees (-1 when none), ok (N,) all inputs complete).

    Rows that are not `ok` (indicator warm-up, no closed 30-minute bar yet) hold NaN.
    """
    t_ns = pd.DatetimeIndex(signal_times).asi8
    pos5 = frames.f5.index.get_indexer(pd.DatetimeIndex(signal_times))
    if (pos5 < 0).any():
        bad = signal_times[int(np.flatnonzero(pos5 < 0)[0])]
        raise InputError(f"core_inputs: signal time {bad} is not a 5-minute bar of these frames; build both from the same bars.")
    pos30 = np.searchsorted(frames.close30_ns, t_ns, side="right") - 1  # last 30-minute bar closed by t
    n = len(t_ns)
    w30, w5 = frames.m30_window, frames.m5_window
    x30, x5 = frames.f30.to_numpy(np.float64), frames.f5.to_numpy(np.float64)
    m30 = np.full((n, w30, x30.shape[1]), np.nan)
    m5 = np.full((n, w5, x5.shape[1]), np.nan)
    lvn = np.full((n, 5), np.nan)
    for i in range(n):
        if pos30[i] + 1 >= w30:
            m30[i] = x30[pos30[i] + 1 - w30 : pos30[i] + 1]
            lvn[i] = frames.lvn[pos30[i]]
        if pos5[i] + 1 >= w5:
            m5[i] = x5[pos5[i] + 1 - w5 : pos5[i] + 1]
    ok = np.isfinite(m30).all(axis=(1, 2)) & np.isfinite(m5).all(axis=(1, 2)) & np.isfinite(lvn).all(axis=1)
    return m30, m5, lvn, pos30, ok


class CoreInputStream:
    """Streaming twin of `core_inputs`: feed each closed 30-minute bar and each closed 5-minute
    bar (a 30-minute bar before the 5-minute bars that open at or after its close); `current()`
    gives (m30, m5, lvn) for a signal on the latest 5-minute bar, or None in warm-up.

    Two ways to feed it, with identical results (tested): `update_30m` / `update_5m` with bars
    (the stream computes the raw indicator rows itself), or `push_30m` / `push_5m` with the raw
    rows the synergy detector already computed for the same bars (`SynergyDetector.last_raw30`,
    `last_raw5`): the runtime's path, which computes each bar's indicators once, not twice.
    """

    def __init__(self, p30: Matrix30mParams | None = None, p5: Matrix5mParams | None = None) -> None:
        self._a30 = Matrix30mAssembler(p30)
        self._a5 = Matrix5mAssembler(p5)
        self._clip = self._a30.params.clip
        self._checked: dict[int, object] = {}  # minutes -> the params object last found equal to ours
        self._m30: np.ndarray | None = None
        self._m5: np.ndarray | None = None
        self._lvn: np.ndarray | None = None

    @property
    def params(self) -> tuple[Matrix30mParams, Matrix5mParams]:
        return self._a30.params, self._a5.params

    def update_30m(self, bar: Any) -> None:
        self._set_30m(self._a30.update(bar))

    def update_5m(self, bar: Any) -> None:
        self._m5 = self._a5.update(bar)

    def push_30m(self, raw: dict[str, float], params: Matrix30mParams) -> None:
        """The raw 30-minute row (`raw_30m` columns) of the next closed bar, computed under `params`."""
        self._check(30, params, self._a30.params)
        self._set_30m(self._a30.push_raw(raw))

    def push_5m(self, raw: dict[str, float], params: Matrix5mParams) -> None:
        """The raw 5-minute row (`raw_5m` columns) of the next closed bar, computed under `params`."""
        self._check(5, params, self._a5.params)
        self._m5 = self._a5.push_raw(raw)

    def _check(self, minutes: int, params: object, ours: object) -> None:
        if self._checked.get(minutes) is params:
            return
        if params != ours:
            raise InputError(
                f"CoreInputStream: {minutes}-minute rows were computed with other indicator parameters ({params!r}) than "
                f"this stream's ({ours!r}); build the stream with the detector's parameters (SynergyParams.m30 / .m5)."
            )
        self._checked[minutes] = params

    def _set_30m(self, m30: np.ndarray | None) -> None:
        self._m30 = m30
        self._lvn = lvn_summary(self._a30.raw, self._clip) if self._a30.raw is not None else None

    def current(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        if self._m30 is None or self._m5 is None or self._lvn is None or not np.isfinite(self._lvn).all():
            return None
        return self._m30, self._m5, self._lvn
