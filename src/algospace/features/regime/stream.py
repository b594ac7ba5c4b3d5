"""Incremental regime features: one bar in, one feature row out.

The stream keeps the last LOOKBACK bars plus the per-bar kernel rows (G, C) of the MMD, and
computes the new row with the same functions the batch path uses, restricted to the last
bar. Each per-bar row depends only on that bar and the ones before it, so the stream equals
`FeatureSpec.transform` on the same bars (tested to 1e-9).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from algospace.errors import DataError, InputError
from algospace.features.regime import mmd
from algospace.features._bars import BAR_COLUMNS, check_bar_values, check_bars
from algospace.features.regime._bars import bar_series
from algospace.features.regime.stats import LOOKBACK, statistics

if TYPE_CHECKING:
    from algospace.features.regime.spec import FeatureSpec


def _parse_bar(bar: Any) -> tuple[pd.Timestamp, np.ndarray]:
    """(timestamp, [o, h, l, c, v]) from a Series named by its timestamp, a mapping with 'timestamp', or a 1-row frame."""
    if isinstance(bar, pd.DataFrame):
        if len(bar) != 1:
            raise InputError(f"FeatureStream.update expects one bar; got a DataFrame with {len(bar)} rows. Use update_many.")
        ts, row = bar.index[0], bar.iloc[0]
    elif isinstance(bar, pd.Series):
        ts, row = bar.get("timestamp", bar.name), bar
    elif isinstance(bar, Mapping):
        ts, row = bar.get("timestamp"), bar
    else:
        raise InputError(f"FeatureStream.update expects a pandas Series, a mapping or a 1-row DataFrame; got {type(bar).__name__}.")
    if ts is None:
        raise InputError("FeatureStream.update needs the bar's timestamp: a Series name or a 'timestamp' key.")
    try:
        ts = pd.Timestamp(ts)
    except (TypeError, ValueError) as exc:
        raise InputError(f"FeatureStream.update: the bar's timestamp {ts!r} is not a timestamp ({exc}).") from exc
    if ts.tzinfo is None:
        raise InputError(f"FeatureStream.update expects a tz-aware UTC timestamp; got naive {ts}. Localize it to UTC.")
    try:
        values = np.array([float(row[c]) for c in BAR_COLUMNS], dtype=np.float64)
    except KeyError as exc:
        raise InputError(f"FeatureStream.update: the bar lacks field {exc}; expected {list(BAR_COLUMNS)}.") from exc
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"FeatureStream.update: bar {ts} needs numeric {list(BAR_COLUMNS)}; could not read them ({exc}). "
            "Fix the source data (the bars contract is float64 OHLCV)."
        ) from exc
    return ts.tz_convert("UTC"), values


class FeatureStream:
    """Bar-by-bar features for a fitted spec (create with `spec.stream()`)."""

    def __init__(self, spec: FeatureSpec) -> None:
        st = spec._state("stream")
        self.spec = spec
        self.names = spec.names
        self._index = pd.Index(self.names)  # built once: a Series per update must not rebuild it
        p = spec.params
        self._windows = p.mmd_windows
        self._n_max = p.mmd_windows[-1]
        self._bw = st.bandwidths
        self._refs = st.references
        self._ref_terms = mmd.reference_terms(st.references, st.bandwidths)
        self._center, self._scale = st.obs_center, st.obs_scale
        # the fitted state is captured here: refitting the spec later does not change this stream
        self._fcenter, self._fscale, self._clip = st.feature_center, st.feature_scale, p.clip
        self._bars = np.full((LOOKBACK, 5), np.nan)
        self._c = np.full((LOOKBACK, len(self._bw), self._n_max), np.nan)
        self._g = np.full((LOOKBACK, len(p.references), len(self._bw)), np.nan)
        self._count = 0
        self._last_ts: pd.Timestamp | None = None

    @property
    def ready(self) -> bool:
        """True once enough bars were seen for `update` to return rows."""
        return self._count >= LOOKBACK

    def update_values(self, ts: pd.Timestamp, values: np.ndarray) -> np.ndarray | None:
        """Like `update` but takes [open, high, low, close, volume] and returns a scaled numpy row."""
        if self._last_ts is not None and ts <= self._last_ts:
            raise DataError(f"FeatureStream expects increasing timestamps; got {ts} after {self._last_ts}.")
        check_bar_values("FeatureStream", ts, *values.tolist())
        self._bars[:-1] = self._bars[1:]
        self._bars[-1] = values
        self._last_ts = ts
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
        ts, values = _parse_bar(bar)
        row = self.update_values(ts, values)
        return None if row is None else pd.Series(row, index=self._index, name=ts, copy=False)

    def update_many(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Feed bars one at a time; return the rows produced (same as `transform` on the same bars)."""
        cols = check_bars(bars, "FeatureStream.update_many")
        values = np.column_stack([cols[c] for c in BAR_COLUMNS])
        rows, index = [], []
        for ts, v in zip(bars.index, values):
            row = self.update_values(pd.Timestamp(ts), v)
            if row is not None:
                rows.append(row)
                index.append(ts)
        return pd.DataFrame(
            np.array(rows).reshape(len(rows), len(self.names)), index=pd.DatetimeIndex(index, name="timestamp"), columns=self.names
        )
