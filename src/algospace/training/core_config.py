"""Training configuration of the decision core (pydantic, strict, YAML-loadable)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from algospace.training.config_base import TrainConfig


class CoreTrainConfig(TrainConfig):
    """How the decision core is trained. `preset("tiny")` is for tests, `preset("default")` for real runs."""

    instrument: Literal["ES", "MES"] = Field("ES", description="Instrument the signals trade (SPY data runs as its proxy).")
    train_fraction: float = Field(0.70, gt=0.0, lt=1.0, description="Share of trading days (with signals) in the training split.")
    val_fraction: float = Field(0.15, gt=0.0, lt=1.0)
    batch_size: int = Field(128, ge=1)
    max_epochs: int = Field(60, ge=1)
    lr: float = Field(2e-3, gt=0.0)
    weight_decay: float = Field(1e-3, ge=0.0)
    grad_clip: float = Field(1.0, gt=0.0)
    dropout: float = Field(0.1, ge=0.0, lt=1.0, description="The policy head's (MC) dropout rate.")
    gate_weight: float = Field(1.0, ge=0.0, description="Weight of the gate's loss beside the policy head's.")
    patience: int = Field(8, ge=1, description="Epochs without validation-loss improvement before stopping.")
    max_minutes: float = Field(10.0, gt=0.0, description="Wall-clock budget; training stops (and says so) when spent.")
    min_taken: float = Field(
        0.10, gt=0.0, le=1.0,
        description="Least share of validation signals a chosen initiate threshold must take (a threshold that "
        "takes a handful of lucky trades would be noise).",
    )
    mc_passes: int = Field(50, ge=1, description="MC-dropout passes when scoring and choosing the threshold.")
    seed: int = 0
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None leaves torch's default.")
    device: str = Field("cpu", description="cpu (default; same seed + data -> same weights), auto, cuda, cuda:N or mps.")
    data_start: str | None = Field(None, description="Use bars from this date on (ISO); None: all.")
    data_end: str | None = Field(None, description="Use bars before this date (ISO); None: all.")

    _what: ClassVar[str] = "decision-core"

    @classmethod
    def _tiny(cls) -> dict[str, Any]:
        return {"max_epochs": 3, "batch_size": 64, "patience": 2, "max_minutes": 1.0, "mc_passes": 8}
