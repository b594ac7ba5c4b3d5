"""`FeatureSpec`: the versioned, fitted definition of the 155 regime features.

Estimator conventions: `FeatureSpec.default()` (or `FeatureSpec(FeatureParams(...))`) only
stores parameters; `fit(bars_train)` learns the observation scaling, the kernel bandwidths
(median heuristic), the reference regime samples and the robust feature scaling from training
bars only, and returns self; `transform(bars)` never refits. The fingerprint is the sha256 of
the names, their order, the parameters and the fitted state; it is what model artifacts store.

Saved as one JSON file (arrays as lists of floats, which round-trip exactly); loading checks
the format, the version, the names and the fingerprint, so a tampered file is refused.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from algospace.errors import ArtifactError, ConfigError, DataError, NotFittedError
from algospace.features.regime import mmd
from algospace.features.regime.inputs import RegimeInputs, regime_inputs
from algospace.features.regime.params import FeatureParams, FittedState
from algospace.features.regime.references import REFERENCE_DOC, fit_references
from algospace.features.regime.series import bar_series
from algospace.features.regime.stats import LOOKBACK, STAT_INFO, FeatureInfo, statistics
from algospace.features.regime.stats_v2 import STAT_V2_INFO, statistics_v2
from algospace.features.regime.stream import FeatureStream
from algospace.hashing import canonical_json, sha256_text
from algospace.io import atomic_write_text


log = logging.getLogger(__name__)

SPEC_FORMAT = "algospace.feature_spec"
SUPPORTED_VERSIONS = (1, 2)
LATEST_VERSION = 2
# Version 2 keeps one MMD bandwidth of three (the 105 scores are ~8-dimensional, docs/features.md)
# and spends the 70 columns freed on statistics of the 1-minute bars: the width stays 155.
_VERSION_DEFAULTS: dict[int, dict[str, Any]] = {1: {}, 2: {"version": 2, "bandwidth_multipliers": (1.0,)}}
SPEC_FILE = "feature_spec.json"  # the file inside a spec directory (e.g. an artifact's feature_spec/)
_MAD_TO_STD = 1.482602218505602  # 1 / Phi^-1(3/4): MAD of a normal sample -> its std
_CHUNK_ROWS = 4096  # output rows per transform block (bounds memory; results do not depend on it)


def _bw_label(mult: float) -> str:
    return f"bw{mult:g}".replace(".", "p")


def mmd_info(params: FeatureParams) -> tuple[FeatureInfo, ...]:
    """Documentation rows of the MMD features, in column order (reference, window, bandwidth)."""
    out = []
    for ref in params.references:
        for n in params.mmd_windows:
            for mult in params.bandwidth_multipliers:
                out.append(
                    FeatureInfo(
                        name=f"mmd_{ref}_w{n}_{_bw_label(mult)}",
                        group="mmd",
                        window=n,
                        formula=f"MMD_k(last {n} observations, '{ref}' reference sample), k Gaussian, bandwidth {mult:g} x median distance",
                        why=f"distance to the {ref.replace('_', '-')} regime ({REFERENCE_DOC[ref]})",
                    )
                )
    return tuple(out)


def _robust_center_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column median and a robust scale (scaled MAD; IQR, std, then 1 where that is ~0)."""
    center = np.median(x, axis=0)
    scale = _MAD_TO_STD * np.median(np.abs(x - center), axis=0)
    tiny = 1e-12 * np.maximum(1.0, np.abs(center))
    q75, q25 = np.percentile(x, [75, 25], axis=0)
    scale = np.where(scale > tiny, scale, (q75 - q25) / 1.349)
    scale = np.where(scale > tiny, scale, x.std(axis=0))
    scale = np.where(scale > tiny, scale, 1.0)
    return center, scale


def _as_params(params: FeatureParams | Mapping[str, Any] | None) -> FeatureParams:
    """Accept a FeatureParams, a mapping of overrides or None; invalid values are a ConfigError."""
    if params is None:
        return FeatureParams()
    if isinstance(params, FeatureParams):
        return params
    if not isinstance(params, Mapping):
        raise ConfigError(f"FeatureSpec expects FeatureParams or a mapping of parameters; got {type(params).__name__}.")
    return FeatureParams.model_validate(dict(params))  # ConfigError naming the field when invalid


class FeatureSpec:
    """The 155 regime features per 30-minute bar: names, parameters, fitted state, fingerprint.

    Example:
        >>> spec = FeatureSpec.default().fit(bars_30m_train)
        >>> feats = spec.transform(bars_30m)          # DataFrame (bars - warm-up, 155)
        >>> spec.save("regime_features.json"); FeatureSpec.load("regime_features.json").fingerprint
    """

    def __init__(self, params: FeatureParams | Mapping[str, Any] | None = None) -> None:
        self.params = _as_params(params)
        self.state_: FittedState | None = None

    # ----- definition (available before fit) -----
    @classmethod
    def default(cls, version: int = 1) -> FeatureSpec:
        """The default feature set of a version (155 wide either way).

        1: 7 references x 5 windows x 3 bandwidths + 50 statistics of 30-minute bars.
        2: 7 references x 5 windows x 1 bandwidth + the same 50 + 70 statistics of the 1-minute
        bars inside each bar and the volume level; fit/transform/stream need the 1-minute bars.
        """
        if version not in _VERSION_DEFAULTS:
            raise ConfigError(f"Feature spec version must be one of {list(_VERSION_DEFAULTS)}; received {version!r}.")
        return cls(FeatureParams(**_VERSION_DEFAULTS[version]))

    @property
    def version(self) -> int:
        return self.params.version

    @property
    def needs_minute_bars(self) -> bool:
        """Version 2 reads the 1-minute bars inside each 30-minute bar."""
        return self.params.version >= 2

    @property
    def info(self) -> tuple[FeatureInfo, ...]:
        """One documentation row per feature, in column order."""
        return mmd_info(self.params) + STAT_INFO + (STAT_V2_INFO if self.needs_minute_bars else ())

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.info]

    @property
    def width(self) -> int:
        """Number of features (the RDE input width): 155 for the default spec."""
        p = self.params
        return len(p.references) * len(p.mmd_windows) * len(p.bandwidth_multipliers) + len(STAT_INFO) + (
            len(STAT_V2_INFO) if self.needs_minute_bars else 0
        )

    @property
    def lookback(self) -> int:
        """Bars one feature row reads (the row's own bar included)."""
        return LOOKBACK

    @property
    def warmup(self) -> int:
        """Leading bars of any input that get no feature row (they only feed the first windows)."""
        return LOOKBACK - 1

    @property
    def is_fitted(self) -> bool:
        return self.state_ is not None

    def _state(self, what: str) -> FittedState:
        if self.state_ is None:
            raise NotFittedError(
                f"FeatureSpec.{what} needs a fitted spec; this one is not fitted. "
                "Call spec.fit(bars_30m_train) first or load a fitted spec with FeatureSpec.load(path)."
            )
        return self.state_

    def __repr__(self) -> str:
        fitted = f"fitted on {self.state_.fit_bars} bars {self.state_.fit_start}..{self.state_.fit_end}" if self.state_ else "not fitted"
        return f"FeatureSpec(version={self.version}, width={self.width}, {fitted})"

    # ----- fit / transform -----
    def _inputs(self, bars: object, minute_bars: pd.DataFrame | None, who: str, min_bars: int, why: str) -> RegimeInputs:
        return regime_inputs(bars, minute_bars, self.needs_minute_bars, who, min_bars=min_bars, why=why)

    def fit(self, bars: pd.DataFrame, minute_bars: pd.DataFrame | None = None) -> FeatureSpec:
        """Learn scaling, bandwidths, reference regimes and feature scaling from training bars only.

        Version 2 also reads the 1-minute bars: `minute_bars`, or pass the 1-minute bars as `bars`.
        """
        p = self.params
        inputs = self._inputs(
            bars,
            minute_bars,
            "FeatureSpec.fit",
            p.min_fit_bars,
            f"FeatureParams.min_fit_bars; each feature row reads {LOOKBACK} bars, so the first {LOOKBACK - 1} "
            "only warm up and fewer bars leave too few rows to fit references and scaling",
        )
        bars, values = inputs.bars, inputs.values
        rng = np.random.default_rng(p.seed)
        s = bar_series(values)
        raw = mmd.raw_observations(s)[mmd.OBS_LAG :]  # the first rows have no observation
        obs_center, obs_scale = _robust_center_scale(raw)
        obs = mmd.standardise(raw, obs_center, obs_scale)
        med = mmd.median_bandwidth(obs, rng)
        bandwidths = med * np.asarray(p.bandwidth_multipliers, dtype=np.float64)
        references = fit_references(obs, s.r[mmd.OBS_LAG :], p.references, p.reference_window, p.reference_quantile, p.reference_size, rng)
        provisional = FittedState(
            obs_center=obs_center,
            obs_scale=obs_scale,
            median_distance=med,
            bandwidths=bandwidths,
            references=references,
            feature_center=np.zeros(self.width),
            feature_scale=np.ones(self.width),
            fit_start=bars.index[0].isoformat(),
            fit_end=bars.index[-1].isoformat(),
            fit_bars=len(bars),
        )
        raw_feats = self._raw(values, inputs.sums, provisional)
        _check_finite(raw_feats, bars.index[LOOKBACK - 1 :], self.names)
        center, scale = _robust_center_scale(raw_feats)
        # state_ is set only once everything succeeded: a failed fit leaves the spec as it was
        self.state_ = dataclasses.replace(provisional, feature_center=center, feature_scale=scale)
        log.info("FeatureSpec fitted on %d bars (%s..%s); median distance %.4g", len(bars), self.state_.fit_start, self.state_.fit_end, med)
        return self

    def _raw_block(self, values: np.ndarray, sums: np.ndarray | None, st: FittedState) -> np.ndarray:
        """Unscaled features for every bar t >= LOOKBACK - 1 of `values` (all bars read are in `values`)."""
        p = self.params
        s = bar_series(values)
        obs = mmd.standardise(mmd.raw_observations(s), st.obs_center, st.obs_scale)
        n_max = p.mmd_windows[-1]
        c = mmd.lag_prefix(obs, np.arange(len(obs)), n_max, st.bandwidths)
        g = mmd.cross_means(obs, st.references, st.bandwidths)
        ref_terms = mmd.reference_terms(st.references, st.bandwidths)
        start = LOOKBACK - 1
        scores = mmd.mmd_scores(c, g, ref_terms, p.mmd_windows, start)
        blocks = [scores.reshape(len(scores), -1), statistics(s, start)]
        if sums is not None:
            blocks.append(statistics_v2(s, sums, start))
        return np.hstack(blocks)

    def _raw(
        self,
        values: np.ndarray,
        sums: np.ndarray | None,
        st: FittedState,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Unscaled features for all rows after warm-up, in blocks (each block re-reads its lookback)."""
        total = len(values) - (LOOKBACK - 1)
        out = np.empty((total, self.width), dtype=np.float64)
        for lo in range(0, total, _CHUNK_ROWS):
            hi = min(lo + _CHUNK_ROWS, total)
            part = slice(lo, hi + LOOKBACK - 1)
            out[lo:hi] = self._raw_block(values[part], None if sums is None else sums[part], st)
            if progress is not None:
                progress(hi, total)
        return out

    def scale(self, raw: np.ndarray) -> np.ndarray:
        """Robust scaling fitted on training data, clipped to +-clip."""
        st = self._state("scale")
        return np.clip((raw - st.feature_center) / st.feature_scale, -self.params.clip, self.params.clip)

    def transform(
        self,
        bars: pd.DataFrame,
        scaled: bool = True,
        progress: Callable[[int, int], None] | None = None,
        minute_bars: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Features for every bar after the warm-up: DataFrame indexed by bar timestamp, `width` named columns.

        Never refits. `scaled=False` returns the unscaled values (for inspection and docs).
        Version 2 also reads the 1-minute bars: `minute_bars`, or pass the 1-minute bars as `bars`
        (rows are then the 30-minute session bars built from them).
        """
        st = self._state("transform")
        inputs = self._inputs(
            bars, minute_bars, "FeatureSpec.transform", LOOKBACK, f"the lookback: each feature row reads its bar and the {LOOKBACK - 1} before it"
        )
        bars = inputs.bars
        raw = self._raw(inputs.values, inputs.sums, st, progress)
        feats = self.scale(raw) if scaled else raw
        _check_finite(feats, bars.index[LOOKBACK - 1 :], self.names)
        index = pd.DatetimeIndex(bars.index[LOOKBACK - 1 :], name="timestamp")
        out = pd.DataFrame(feats, index=index, columns=self.names)
        # Lets a consumer (the RDE engine) refuse features built under another spec.
        out.attrs["feature_spec_fingerprint"] = self.fingerprint if scaled else None
        return out

    def fit_transform(self, bars: pd.DataFrame, minute_bars: pd.DataFrame | None = None) -> pd.DataFrame:
        return self.fit(bars, minute_bars).transform(bars, minute_bars=minute_bars)

    def stream(self) -> FeatureStream:
        """An incremental computer: `update(bar)` returns the new feature row (None during warm-up)."""
        return FeatureStream(self._state("stream"), self.params, self.names, minute_bars=self.needs_minute_bars)

    # ----- identity and persistence -----
    def _payload(self) -> dict[str, Any]:
        st = self._state("fingerprint")
        return {
            "format": SPEC_FORMAT,
            "version": self.version,
            "params": self.params.model_dump(mode="json"),
            "names": self.names,
            "state": st.to_json(),
        }

    @property
    def fingerprint(self) -> str:
        """sha256 of names, order, parameters and fitted state (what model artifacts store)."""
        return sha256_text(canonical_json(self._payload()))

    def to_dict(self) -> dict[str, Any]:
        from algospace import __version__

        payload = self._payload()
        return {**payload, "width": self.width, "fingerprint": sha256_text(canonical_json(payload)), "package_version": __version__}

    def save(self, path: str | Path) -> Path:
        """Write the fitted spec as JSON, atomically; returns the file written.

        `path` ending in `.json` is the file; any other path (e.g. an artifact's
        `feature_spec/`) is a directory that receives `feature_spec.json`.
        """
        path = _spec_file(Path(path), for_write=True)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1, sort_keys=True, allow_nan=False) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeatureSpec:
        """Load a fitted spec; refuse unknown formats/versions and files whose fingerprint does not match."""
        path = _spec_file(Path(path), for_write=False)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ArtifactError(f"Feature spec file {path} does not exist. Save one with FeatureSpec.save(path).") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"Feature spec file {path} is not readable JSON ({exc}).") from exc
        return cls.from_dict(d, source=str(path))

    @classmethod
    def from_dict(cls, d: Any, source: str = "<dict>") -> FeatureSpec:
        if not isinstance(d, dict) or d.get("format") != SPEC_FORMAT:
            raise ArtifactError(f"{source} is not an algospace feature spec (expected format {SPEC_FORMAT!r}).")
        if d.get("version") not in SUPPORTED_VERSIONS:
            raise ArtifactError(
                f"{source} holds feature spec version {d.get('version')!r}; this algospace supports {list(SUPPORTED_VERSIONS)}. "
                "Upgrade algospace or re-fit the spec."
            )
        try:
            params = FeatureParams.model_validate(d.get("params"))
        except ConfigError as exc:
            raise ArtifactError(f"{source}: invalid feature parameters ({exc}). Re-fit and save the spec.") from exc
        if params.version != d.get("version"):
            raise ArtifactError(
                f"{source}: the file says version {d.get('version')!r} but its parameters say version {params.version}. Re-fit and save the spec."
            )
        spec = cls(params)
        if d.get("names") != spec.names:
            raise ArtifactError(f"{source}: feature names/order do not match version {params.version} of the feature set.")
        if not isinstance(d.get("state"), dict):
            raise ArtifactError(f"{source} holds no fitted state; only fitted specs are saved.")
        spec.state_ = FittedState.from_json(d["state"], params, spec.width)
        if spec.fingerprint != d.get("fingerprint"):
            raise ArtifactError(
                f"{source}: fingerprint mismatch (stored {str(d.get('fingerprint'))[:16]}..., computed {spec.fingerprint[:16]}...). "
                "The file was modified after saving; re-fit and save the spec."
            )
        return spec


def _spec_file(path: Path, for_write: bool) -> Path:
    """A `.json` path is the spec file; a directory (or a path without suffix) holds SPEC_FILE."""
    if path.is_dir() or (for_write and path.suffix.lower() != ".json"):
        return path / SPEC_FILE
    return path


def _check_finite(feats: np.ndarray, index: pd.Index, names: list[str]) -> None:
    """No NaN reaches a model: a non-finite feature is an error naming the feature and bar."""
    bad = ~np.isfinite(feats)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"Feature {names[c]!r} is not finite ({feats[r, c]!r}) at {index[r]}; the bars around it are degenerate. "
            "Check the input bars (zero prices, constant series) around that time."
        )
