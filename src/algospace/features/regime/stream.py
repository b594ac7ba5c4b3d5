"""Incremental regime features: one bar in, one feature row out.

The stream keeps the last LOOKBACK bars plus the per-bar kernel rows (G, C) of the MMD, and
computes the new row with the same functions the batch path uses, restricted to the last
bar. Each per-bar row depends only on that bar and the ones before it, so the stream equals
`FeatureSpec.transform` on the same bars (tested to 1e-9).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS
from algospace.data.stream_bar import StreamClock, check_bar_values, read_bar
from algospace.errors import DataError
from algospace.features.bar_check import check_bars
from algospace.features.regime import mmd
from algospace.features.regime.params import FeatureParams, FittedState
from algospace.features.regime.series import bar_series
from algospace.features.regime.stats import LOOKBACK, statistics


class FeatureStream:
    """Bar-by-bar features for a fitted spec (create with `spec.stream()`).

    Handed the spec's fitted state, parameters and feature names, not the spec: refitting the
    spec later does not change this stream.
    """

    def __init__(self, state: FittedState, params: FeatureParams, names: list[str]) -> None:
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

    @property
    def ready(self) -> bool:
        """True once enough bars were seen for `update` to return rows."""
        return self._count >= LOOKBACK

    def update_values(self, ts: pd.Timestamp, values: np.ndarray) -> np.ndarray | None:
        """Like `update` but takes [open, high, low, close, volume] and returns a scaled numpy row."""
        check_bar_values("FeatureStream.update", ts, *values.tolist())
        self._clock.check(ts)
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
        if self._count < LOOKBACK:
            return None
        start = LOOKBACK - 1
        scores = mmd.mmd_scores(self._c, self._g, self._ref_terms, self._windows, start)
        raw = np.hstack([scores.reshape(1, -1), statistics(s, start)])
        row = np.clip((raw[0] - self._fcenter) / self._fscale, -self._clip, self._clip)
        if not np.isfinite(row).all():
            c = int(np.argmax(~np.isfinite(row)))
            raise DataError(f"Feature {self.names[c]!r} is not finite at {ts}; the recent bars are degenerate.")
        return row

    def update(self, bar: Any) -> pd.Series | None:
        """Add one bar; return its feature row (a Series named by the timestamp) or None during warm-up."""
        ts, *values = read_bar(bar, "FeatureStream.update", need_time=True)
        row = self.update_values(ts, np.array(values, dtype=np.float64))
        return None if row is None else pd.Series(row, index=self._index, name=ts, copy=False)

    def update_many(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Feed bars one at a time; return the rows produced (same as `transform` on the same bars)."""
        cols = check_bars(bars, "FeatureStream.update_many")
        values = np.column_stack([cols[c] for c in BARS_COLUMNS])
        rows, index = [], []
        for ts, v in zip(bars.index, values):
            row = self.update_values(pd.Timestamp(ts), v)
            if row is not None:
                rows.append(row)
                index.append(ts)
        return pd.DataFrame(
            np.array(rows).reshape(len(rows), len(self.names)), index=pd.DatetimeIndex(index, name="timestamp"), columns=self.names
        )
