"""Training configuration of the M-RMS (pydantic, strict, YAML-loadable): data split, PPO, reward."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from algospace.config import StrictModel
from algospace.training.config_base import TrainConfig
from algospace.sim import AccountConfig, SimConfig


class RewardConfig(StrictModel):
    """reward = net P&L / pnl_scale - drawdown_penalty x (rise of the drawdown) / pnl_scale - breach_penalty x breaches.

    Why this and not the original's P&L/1000 + 2 x change in Sortino - 0.1 x |size - Kelly| -
    10 per breach: the change of a running Sortino ratio is a noisy, history-dependent signal
    (one trade moves it by a lot early and by nothing late), and a Kelly-distance term pulls
    the policy towards a formula instead of letting it find a better one. Penalising only the
    part of a loss that deepens the account's drawdown (from its running peak in the episode)
    makes losses in a drawdown cost (1 + drawdown_penalty) times their size, which is what
    Sortino and Calmar punish, while gains and losses inside a drawdown that is recovered
    count at face value. A breach (daily-loss limit or the max loss) costs breach_penalty: with
    1,000 USD per unit, 10 = a 10,000 USD loss, so no trade is worth risking one.
    """

    pnl_scale: float = Field(1000.0, gt=0, description="USD per reward unit (the daily loss limit).")
    drawdown_penalty: float = Field(0.5, ge=0)
    breach_penalty: float = Field(10.0, ge=0)


class PPOSettings(StrictModel):
    lr: float = Field(3e-4, gt=0)
    clip: float = Field(0.2, gt=0, lt=1)
    epochs: int = Field(4, ge=1)
    minibatch: int = Field(512, ge=8)
    gamma: float = Field(0.99, ge=0, le=1)
    gae_lambda: float = Field(0.95, ge=0, le=1)
    value_coef: float = Field(0.5, ge=0)
    entropy_coef: float = Field(0.01, ge=0)
    max_grad_norm: float = Field(0.5, gt=0)
    target_kl: float | None = Field(0.03, gt=0)
    init_log_std: float = Field(-0.5, ge=-5, le=2)


class MRMSTrainConfig(TrainConfig):
    """How an M-RMS is trained. `preset("tiny")` is for tests, `preset("default")` for real runs."""

    source: Literal["components", "synergy"] = Field("components", description="Signals to train on (algospace.signals).")
    instrument: Literal["ES", "MES"] = Field("ES", description="Simulated instrument; SPY data runs as its x10 proxy.")
    train_fraction: float = Field(0.70, gt=0.0, lt=1.0)
    val_fraction: float = Field(0.15, gt=0.0, lt=1.0)
    n_envs: int = Field(128, ge=1, description="Parallel episodes per rollout.")
    episode_signals: int = Field(32, ge=2, description="Signals per episode (and per rollout); each starts a fresh account at a random signal.")
    max_iterations: int = Field(300, ge=1, description="Rollout + update cycles.")
    eval_every: int = Field(10, ge=1, description="Iterations between validation backtests.")
    patience: int = Field(6, ge=1, description="Validations without improvement before stopping.")
    refit_on_validation: bool = Field(
        False, description="After early stopping, retrain from scratch on train + validation for the best validation "
        "iteration count (the policy then also learns from the most recent signals; its validation metrics are in sample).")
    ppo: PPOSettings = PPOSettings()
    reward: RewardConfig = RewardConfig()
    account: AccountConfig = AccountConfig()
    sim: SimConfig = SimConfig()
    max_minutes: float = Field(10.0, gt=0.0, description="Wall-clock budget; training stops (and says so) when spent.")
    seed: int = 0
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None leaves torch's default.")
    device: str = Field("cpu", description="cpu (default; same seed + data -> same weights), auto, cuda, cuda:N or mps.")

    _what: ClassVar[str] = "M-RMS"

    @classmethod
    def _tiny(cls) -> dict[str, Any]:
        return {"n_envs": 16, "episode_signals": 12, "max_iterations": 6, "eval_every": 2, "patience": 2,
                "ppo": PPOSettings(minibatch=64), "max_minutes": 1.0}
