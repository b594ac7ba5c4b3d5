"""Incremental regime features: one bar in, one feature row out.

The stream keeps the last LOOKBACK bars plus the per-bar kernel rows (G, C) of the MMD, and
computes the new row with the same functions the batch path uses, restricted to the last
bar. Each per-bar row depends only on that bar and the ones before it, so the stream equals
`FeatureSpec.transform` on the same bars (tested to 1e-9).

Version 2 also keeps each bar's 1-minute sums (`intrabar.intrabar_sums`, the batch path's
function on that bar's minutes). The minutes come with the bar (`update(bar, minute_bars=)`)
or one at a time before it (`add_minute(bar_1m)`, what a live runtime does as minutes close);
a 30-minute bar takes the buffered minutes in [its open time, + 30 minutes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from algospace.data.stream_bar import StreamClock, check_bar_values, read_bar
from algospace.errors import DataError, InputError
from algospace.features.regime import mmd
from algospace.features.regime.inputs import regime_inputs
from algospace.features.regime.intrabar import BAR_NS, INTRABAR_SUMS, assign_minutes, intrabar_sums, minute_values
from algospace.features.regime.params import FeatureParams, FittedState
from algospace.features.regime.series import bar_series
from algospace.features.regime.stats import LOOKBACK, statistics
from algospace.features.regime.stats_v2 import statistics_v2


class FeatureStream:
    """Bar-by-bar features for a fitted spec (create with `spec.stream()`).

    Handed the spec's fitted state, parameters and feature names, not the spec: refitting the
    spec later does not change this stream. `minute_bars=True` (version 2): each bar also
    needs its 1-minute bars.
    """

    def __init__(self, state: FittedState, params: FeatureParams, names: list[str], minute_bars: bool = False) -> None:
        st = state
        self.names = list(names)
        self._index = pd.Index(self.names)  # built once: a Series per update must not rebuild it
        p = params
        self._windows = p.mmd_windows
        self._n_max = p.mmd_windows[-1]
        self._bw = st.bandwidths
        self._refs = st.references
        self._ref_terms = mmd.reference_terms(st.references, st.bandwidths)
        self._center, self._scale = st.obs_center, st.obs_scale
        self._fcenter, self._fscale, self._clip = st.feature_center, st.feature_scale, p.clip
        self._bars = np.full((LOOKBACK, 5), np.nan)
        self._c = np.full((LOOKBACK, len(self._bw), self._n_max), np.nan)
        self._g = np.full((LOOKBACK, len(p.references), len(self._bw)), np.nan)
        self._count = 0
        self._clock = StreamClock("FeatureStream.update", need_time=True)
        self.needs_minute_bars = bool(minute_bars)
        self._sums = np.zeros((LOOKBACK, len(INTRABAR_SUMS))) if minute_bars else None
        self._minute_clock = StreamClock("FeatureStream.add_minute", need_time=True)
        self._pending_ns: list[int] = []  # buffered 1-minute bars not yet taken by a 30-minute bar
        self._pending: list[list[float]] = []
        self._fed_minutes = False  # add_minute was ever called

    @property
    def ready(self) -> bool:
        """True once enough bars were seen for `update` to return rows."""
        return self._count >= LOOKBACK

    def add_minute(self, bar: Any) -> None:
        """Buffer one 1-minute bar (version 2) for the 30-minute bar whose interval holds it.

        Feed every minute of a 30-minute bar before that bar's `update`; older minutes that no
        bar took are dropped at each update.
        """
        ts, *values = read_bar(bar, "FeatureStream.add_minute", need_time=True)
        self.add_minute_values(ts, np.array(values, dtype=np.float64))

    def add_minute_values(self, ts: pd.Timestamp, values: np.ndarray) -> None:
        """Like `add_minute` but takes [open, high, low, close, volume] (the runtime's numpy entry)."""
        check_bar_values("FeatureStream.add_minute", ts, *values.tolist())
        self._minute_clock.check(ts)
        self._pending_ns.append(pd.Timestamp(ts).as_unit("ns").value)
        self._pending.append(values.tolist())
        self._fed_minutes = True

    def _bar_sums(self, ts: pd.Timestamp, minute_bars: pd.DataFrame | None) -> np.ndarray | None:
        """This bar's 1-minute sums (version 2): from `minute_bars` or the buffered minutes."""
        if self._sums is None:
            return None
        t0 = np.array([pd.Timestamp(ts).as_unit("ns").value])
        if minute_bars is not None:
            ns, minutes = minute_values(minute_bars, "FeatureStream.update (minute_bars)")
        elif self._fed_minutes:
            ns, minutes = np.array(self._pending_ns, dtype=np.int64), np.array(self._pending, dtype=np.float64).reshape(-1, 5)
            keep = ns >= t0[0] + BAR_NS  # minutes of later bars stay buffered
            self._pending_ns = [int(x) for x in ns[keep]]
            self._pending = minutes[keep].tolist()
        else:
            raise InputError(
                "FeatureStream.update: this stream (feature spec version 2) needs each bar's 1-minute bars: pass "
                "update(bar, minute_bars=<its 1-minute bars>) or feed them with add_minute(bar_1m) first."
            )
        return intrabar_sums(minutes, assign_minutes(t0, ns), 1)[0]

    def update_values(
        self, ts: pd.Timestamp, values: np.ndarray, minute_bars: pd.DataFrame | None = None
    ) -> np.ndarray | None:
        """Like `update` but takes [open, high, low, close, volume] and returns a scaled numpy row."""
        check_bar_values("FeatureStream.update", ts, *values.tolist())
        self._clock.check(ts)
        return self._advance(ts, values, self._bar_sums(ts, minute_bars))

    def _advance(self, ts: pd.Timestamp, values: np.ndarray, sums: np.ndarray | None) -> np.ndarray | None:
        """One checked bar (and its minute sums) in; the scaled row out, None during warm-up."""
        self._bars[:-1] = self._bars[1:]
        self._bars[-1] = values
        self._count += 1
        s = bar_series(self._bars)
        obs = mmd.standardise(mmd.raw_observations(s), self._center, self._scale)
        last = np.array([LOOKBACK - 1])
        self._c[:-1] = self._c[1:]
        self._c[-1] = mmd.lag_prefix(obs, last, self._n_max, self._bw)[0]
        self._g[:-1] = self._g[1:]
        self._g[-1] = mmd.cross_means(obs[-1:], self._refs, self._bw)[0]
        if self._sums is not None:
            self._sums[:-1] = self._sums[1:]
            self._sums[-1] = sums
        if self._count < LOOKBACK:
            return None
        start = LOOKBACK - 1
        scores = mmd.mmd_scores(self._c, self._g, self._ref_terms, self._windows, start)
        blocks = [scores.reshape(1, -1), statistics(s, start)]
        if self._sums is not None:
            blocks.append(statistics_v2(s, self._sums, start))
        raw = np.hstack(blocks)
        row = np.clip((raw[0] - self._fcenter) / self._fscale, -self._clip, self._clip)
        if not np.isfinite(row).all():
            c = int(np.argmax(~np.isfinite(row)))
            raise DataError(f"Feature {self.names[c]!r} is not finite at {ts}; the recent bars are degenerate.")
        return row

    def update(self, bar: Any, minute_bars: pd.DataFrame | None = None) -> pd.Series | None:
        """Add one 30-minute bar; return its feature row (a Series named by the timestamp) or None during warm-up.

        Version 2: `minute_bars` are this bar's 1-minute bars; without them the minutes given
        to `add_minute` are used.
        """
        ts, *values = read_bar(bar, "FeatureStream.update", need_time=True)
        row = self.update_values(ts, np.array(values, dtype=np.float64), minute_bars)
        return None if row is None else pd.Series(row, index=self._index, name=ts, copy=False)

    def update_many(self, bars: pd.DataFrame, minute_bars: pd.DataFrame | None = None) -> pd.DataFrame:
        """Feed bars one at a time; return the rows produced (same as `transform` on the same bars).

        Version 2 takes the 1-minute bars as `transform` does (`minute_bars`, or as `bars`).
        """
        inputs = regime_inputs(bars, minute_bars, self.needs_minute_bars, "FeatureStream.update_many", min_bars=1, why="")
        bars, sums = inputs.bars, inputs.sums
        rows, index = [], []
        for i, (ts, v) in enumerate(zip(bars.index, inputs.values)):
            ts = pd.Timestamp(ts)
            check_bar_values("FeatureStream.update", ts, *v.tolist())
            self._clock.check(ts)
            row = self._advance(ts, v, None if sums is None else sums[i])
            if row is not None:
                rows.append(row)
                index.append(ts)
        return pd.DataFrame(
            np.array(rows).reshape(len(rows), len(self.names)), index=pd.DatetimeIndex(index, name="timestamp"), columns=self.names
        )
