"""What a regime feature spec is made of: its parameters (`FeatureParams`) and what `fit`
learns (`FittedState`). Kept apart from `FeatureSpec` so the stream can be handed its fitted
state without importing the spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from algospace.errors import AlgoSpaceError, ArtifactError, ConfigError
from algospace.features._params import StrictParams
from algospace.features.regime import mmd
from algospace.features.regime.references import REFERENCE_REGIMES
from algospace.features.regime.stats import LOOKBACK

_MAX_MMD_WINDOW = LOOKBACK - mmd.OBS_LAG  # the oldest observation of a window still lies inside LOOKBACK


class FeatureParams(StrictParams):
    """Parameters of a regime feature set. Frozen; unknown keys and invalid values raise
    ConfigError on every construction path (keywords, model_validate, a mapping)."""

    error_type: ClassVar[type[AlgoSpaceError]] = ConfigError
    version: Literal[1, 2] = Field(
        1,
        description="1: 105 MMD scores + 50 statistics of 30-minute bars. 2: adds 70 statistics of the 1-minute "
        "bars inside each bar and the volume level (needs the 1-minute bars); `FeatureSpec.default(2)` keeps "
        "one MMD bandwidth so the width stays 155.",
    )
    mmd_windows: tuple[int, ...] = Field(
        (8, 13, 26, 52, 100), description="Window lengths (bars) of the MMD scales: ~1/2 to ~8 RTH sessions."
    )
    bandwidth_multipliers: tuple[float, ...] = Field(
        (0.5, 1.0, 2.0), description="Kernel bandwidths as multiples of the median pairwise distance."
    )
    references: tuple[str, ...] = Field(REFERENCE_REGIMES, description="Reference regimes fitted on training data.")
    reference_size: int = Field(96, ge=8, le=1024, description="Observations kept per reference regime.")
    reference_window: int = Field(26, ge=8, le=1000, description="Bars per training window when selecting references.")
    reference_quantile: float = Field(0.2, gt=0.0, le=0.5, description="Share of training windows pooled per regime.")
    clip: float = Field(10.0, gt=0.0, description="Scaled features are clipped to +-clip (robust units).")
    min_fit_bars: int = Field(300, ge=LOOKBACK + 50, description="Fewest training bars fit accepts.")
    seed: int = Field(0, ge=0, description="Seed of the reference and bandwidth subsampling.")

    @field_validator("mmd_windows")
    @classmethod
    def _windows(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(b <= a for a, b in zip(v, v[1:])) or v[0] < 2 or v[-1] > _MAX_MMD_WINDOW:
            raise ValueError(f"must be strictly increasing window lengths in [2, {_MAX_MMD_WINDOW}]; received {v}")
        return v

    @field_validator("bandwidth_multipliers")
    @classmethod
    def _bandwidths(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not (math.isfinite(x) and x > 0) for x in v) or len(set(v)) != len(v):
            raise ValueError(f"must be distinct positive numbers; received {v}")
        return v

    @field_validator("references")
    @classmethod
    def _references(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [x for x in v if x not in REFERENCE_REGIMES]
        if not v or unknown or len(set(v)) != len(v):
            raise ValueError(f"must be distinct names from {list(REFERENCE_REGIMES)}; received {list(v)}")
        return v

    @model_validator(mode="after")
    def _sizes(self) -> FeatureParams:
        if self.reference_size > self.min_fit_bars:
            raise ValueError(f"reference_size ({self.reference_size}) must not exceed min_fit_bars ({self.min_fit_bars})")
        return self


@dataclass(frozen=True)
class FittedState:
    """Everything `fit` learns; saved with the spec and covered by its fingerprint."""

    obs_center: np.ndarray  # (d,)
    obs_scale: np.ndarray  # (d,)
    median_distance: float
    bandwidths: np.ndarray  # (B,)
    references: np.ndarray  # (Q, m, d)
    feature_center: np.ndarray  # (F,)
    feature_scale: np.ndarray  # (F,)
    fit_start: str
    fit_end: str
    fit_bars: int

    def to_json(self) -> dict[str, Any]:
        return {
            "obs_center": self.obs_center.tolist(),
            "obs_scale": self.obs_scale.tolist(),
            "median_distance": self.median_distance,
            "bandwidths": self.bandwidths.tolist(),
            "references": self.references.tolist(),
            "feature_center": self.feature_center.tolist(),
            "feature_scale": self.feature_scale.tolist(),
            "fit": {"start": self.fit_start, "end": self.fit_end, "bars": self.fit_bars},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], params: FeatureParams, width: int) -> FittedState:
        n_obs = len(mmd.OBS_NAMES)
        shapes = {
            "obs_center": (n_obs,),
            "obs_scale": (n_obs,),
            "bandwidths": (len(params.bandwidth_multipliers),),
            "references": (len(params.references), params.reference_size, n_obs),
            "feature_center": (width,),
            "feature_scale": (width,),
        }
        arrays = {}
        for key, shape in shapes.items():
            try:
                arr = np.asarray(d[key], dtype=np.float64)
            except (KeyError, TypeError, ValueError) as exc:
                raise ArtifactError(f"Fitted feature spec: state field {key!r} is missing or not numeric ({exc}).") from exc
            if arr.shape != shape or not np.isfinite(arr).all():
                raise ArtifactError(
                    f"Fitted feature spec: state field {key!r} must be a finite array of shape {shape}; found shape {arr.shape}."
                )
            arrays[key] = arr
        try:
            fit = d["fit"]
            return cls(
                median_distance=float(d["median_distance"]),
                fit_start=str(fit["start"]),
                fit_end=str(fit["end"]),
                fit_bars=int(fit["bars"]),
                **arrays,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"Fitted feature spec: state is incomplete ({exc!r}). Re-fit and save the spec.") from exc


__all__ = ["FeatureParams", "FittedState"]
