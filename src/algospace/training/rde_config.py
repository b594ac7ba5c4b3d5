"""Training configuration of the Regime Detection Engine (pydantic, strict, YAML-loadable)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from algospace.config import TRAIN_SHARE, StrictModel
from algospace.training.config_base import TrainConfig
from algospace.models.rde import RDEConfig
from algospace.models.registry import rde_config_problems


_REFERENCE = RDEConfig()  # the one source of the architecture's defaults


class RDEModelSize(StrictModel):
    """Architecture knobs exposed to users: RDEConfig's fields and defaults, with bounds for
    user input; the rest of RDEConfig (window limits, positional table) stays at its values."""

    d_model: int = Field(_REFERENCE.d_model, ge=8)
    n_heads: int = Field(_REFERENCE.n_heads, ge=1)
    n_layers: int = Field(_REFERENCE.n_layers, ge=1)
    d_ff: int = Field(_REFERENCE.d_ff, ge=8)
    head_hidden: int = Field(_REFERENCE.head_hidden, ge=4)
    decoder_hidden: int = Field(_REFERENCE.decoder_hidden, ge=4)
    latent_dim: int = Field(_REFERENCE.latent_dim, ge=1)
    dropout: float = Field(_REFERENCE.dropout, ge=0.0, lt=1.0)
    pooling: Literal["mean", "last", "ewm", "attention"] = Field(
        "attention", description="How the encoded bars become one vector: mean (the reference), last, ewm or "
        "attention (the default since issue 14: measured best with target='next', docs/rde.md).")
    pool_halflife: float = Field(_REFERENCE.pool_halflife, gt=0.0, le=96.0, description="Bars; pooling='ewm' only.")

    @model_validator(mode="after")
    def _buildable(self) -> "RDEModelSize":
        problems = rde_config_problems(self.to_config(_REFERENCE.input_dim))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def to_config(self, input_dim: int) -> RDEConfig:
        """The model architecture for features of width `input_dim`."""
        return dataclasses.replace(_REFERENCE, input_dim=input_dim, **self.model_dump())


class RDETrainConfig(TrainConfig):
    """How an RDE is trained. `preset("tiny")` is for tests, `preset("default")` for real runs."""

    model: RDEModelSize = RDEModelSize()
    window: int = Field(48, ge=12, le=96, description="Bars per regime window (T).")
    stride: int = Field(2, ge=1, description="Bars between the ends of consecutive training windows.")
    train_fraction: float = Field(TRAIN_SHARE, gt=0.0, lt=1.0)
    val_fraction: float = Field(0.15, gt=0.0, lt=1.0)
    batch_size: int = Field(64, ge=1)
    max_epochs: int = Field(30, ge=1)
    lr: float = Field(3e-4, gt=0.0)
    weight_decay: float = Field(1e-2, ge=0.0)
    warmup_fraction: float = Field(0.05, ge=0.0, lt=1.0, description="Share of steps with linear lr warm-up before cosine decay.")
    grad_clip: float = Field(1.0, gt=0.0)
    beta: float = Field(0.01, ge=0.0, description="Final KL weight of the beta-VAE.")
    kl_anneal_epochs: int = Field(5, ge=0, description="Epochs over which beta rises linearly from 0.")
    patience: int = Field(5, ge=1, description="Epochs without validation-ELBO improvement before stopping.")
    max_minutes: float = Field(8.0, gt=0.0, description="Wall-clock budget; training stops (and says so) when spent.")
    target: Literal["window", "next"] = Field(
        "next",
        description="What the decoder reconstructs: 'next' (the default since issue 14) = each feature's mean and "
        "std over the next `horizon` bars (a predictive bottleneck: the latent keeps what persists, which separates "
        "regimes better, docs/rde.md); 'window' = the same summary of the input window (an ELBO of the input).",
    )
    horizon: int | None = Field(None, ge=1, le=96, description="Bars ahead summarised when target='next' (default window // 2).")
    contrastive: float = Field(
        0.0, ge=0.0, description="Weight of the temporal-contrastive term (InfoNCE on the regime vectors: a window "
        "and the one `contrast_gap` bars later close, windows from random other times apart); 0 turns it off.")
    contrast_gap: int = Field(8, ge=1, le=96, description="Bars between a window's end and its positive partner's.")
    # --- feature selection (feature spec version; docs/features.md) ---
    features: Literal["v1", "v2"] = Field(
        "v1",
        description="Feature spec version the RDE is trained on: v1 (30-minute bars) or v2 (adds statistics of the "
        "1-minute bars inside each bar; needs 1-minute bars or ticks). Both are 155 wide.",
    )
    seed: int = 0
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None leaves torch's default.")
    device: str = Field(
        "cpu",
        description="Where to train: cpu (default; same seed + data -> same weights), auto, cuda, cuda:N or mps. "
        "GPU kernels are not bit-reproducible, so a GPU run is repeatable only up to float noise.",
    )

    _what: ClassVar[str] = "RDE"

    @model_validator(mode="after")
    def _target_and_annealing(self) -> "RDETrainConfig":  # after the base's split check
        if self.horizon is not None and self.target != "next":
            raise ValueError("horizon applies to target='next' only; leave it unset for target='window'")
        if self.kl_anneal_epochs > self.max_epochs:
            raise ValueError(
                f"kl_anneal_epochs ({self.kl_anneal_epochs}) must be <= max_epochs ({self.max_epochs}): "
                "early stopping and model selection start once beta is final"
            )
        return self

    @property
    def feature_version(self) -> int:
        """The `FeatureSpec` version of `features` ('v2' -> 2)."""
        return int(self.features[1:])

    @property
    def target_horizon(self) -> int:
        """Bars after the window's end that the decoder summarises (0 for target='window')."""
        if self.target == "window":
            return 0
        return self.horizon if self.horizon is not None else max(1, self.window // 2)

    @classmethod
    def _tiny(cls) -> dict[str, Any]:
        return {
            "model": RDEModelSize(d_model=16, n_heads=2, n_layers=1, d_ff=32, head_hidden=16, decoder_hidden=16),
            "window": 12,
            "stride": 4,
            "batch_size": 32,
            "max_epochs": 3,
            "lr": 2e-3,
            "kl_anneal_epochs": 1,
            "patience": 2,
            "max_minutes": 2.0,
        }

    @classmethod
    def preset(cls, name: Literal["tiny", "default"], **overrides: object) -> "RDETrainConfig":  # type: ignore[override]
        """Named presets: `tiny` trains in seconds (tests), `default` is the reference model."""
        base = {**cls.preset_values(name), **overrides}
        if "kl_anneal_epochs" not in overrides:
            # A small epoch cap (e.g. --max-epochs 3) shortens annealing with it instead of failing.
            base["kl_anneal_epochs"] = min(int(base.get("kl_anneal_epochs", 5)), int(base.get("max_epochs", 30)))  # type: ignore[call-overload]
        return cls.validated(base)
