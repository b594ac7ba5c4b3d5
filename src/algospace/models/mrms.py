"""M-RMS (Multi-Agent Risk Management Subsystem) model: three sub-agents and a value head.

Every sub-agent reads the same 40 inputs: the 30-value synergy vector followed by the
10-value account vector. The position-sizing agent gives logits over 0..5 contracts; the
stop-loss agent an ATR multiplier in [0.5, 3.0]; the profit-target agent a reward:risk ratio
in [1.0, 5.0]; the value head a state value for PPO. Sizes reproduce the reference exactly
(28,745 parameters) and module names match the original's checkpoint keys, so legacy weights
load by name.

Pure nn.Module: no I/O, no device logic, no validation (the risk engine owns those).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn


class PositionSizingAgent(nn.Module):
    """Logits over position sizes 0..n_sizes-1 contracts."""

    def __init__(self, config: MRMSConfig) -> None:
        super().__init__()
        c = config
        # indices 0/3/6 hold the Linear layers, as in the original checkpoints
        self.network = nn.Sequential(
            nn.Linear(c.input_dim, c.position_hidden1),
            nn.ReLU(),
            nn.Dropout(c.dropout),
            nn.Linear(c.position_hidden1, c.position_hidden2),
            nn.ReLU(),
            nn.Dropout(c.dropout),
            nn.Linear(c.position_hidden2, c.n_sizes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)  # (B, n_sizes)


class BoundedAgent(nn.Module):
    """One scalar squashed by a sigmoid into [low, high] (stop multiplier or reward:risk)."""

    def __init__(self, config: MRMSConfig, low: float, high: float) -> None:
        super().__init__()
        c = config
        # indices 0/3/5 hold the Linear layers, as in the original checkpoints
        self.network = nn.Sequential(
            nn.Linear(c.input_dim, c.bounded_hidden1),
            nn.ReLU(),
            nn.Dropout(c.dropout),
            nn.Linear(c.bounded_hidden1, c.bounded_hidden2),
            nn.ReLU(),
            nn.Linear(c.bounded_hidden2, 1),
        )
        self.low = low
        self.high = high

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.network(x)).squeeze(-1)  # (B,)
        return self.low + (self.high - self.low) * s  # (B,)


@dataclass(frozen=True)
class MRMSConfig:
    synergy_dim: int = 30  # the synergy detector's vector
    account_dim: int = 10  # the virtual account's state vector
    position_hidden1: int = 128
    position_hidden2: int = 64
    n_sizes: int = 6  # 0..5 contracts: the prop-firm account's maximum is 5
    bounded_hidden1: int = 64
    bounded_hidden2: int = 32
    value_hidden: int = 128
    dropout: float = 0.2
    stop_multiplier_min: float = 0.5  # stop distance in ATRs
    stop_multiplier_max: float = 3.0
    reward_risk_min: float = 1.0  # target distance / stop distance
    reward_risk_max: float = 5.0

    @property
    def input_dim(self) -> int:
        return self.synergy_dim + self.account_dim


class MRMSOutput(NamedTuple):
    position_logits: torch.Tensor  # (B, n_sizes)
    stop_multiplier: torch.Tensor  # (B,) in [stop_multiplier_min, stop_multiplier_max]
    reward_risk: torch.Tensor  # (B,) in [reward_risk_min, reward_risk_max]
    value: torch.Tensor  # (B,)


class MRMSModel(nn.Module):
    """The M-RMS ensemble: sizing, stop-loss and profit-target agents plus a value head."""

    def __init__(self, config: MRMSConfig) -> None:
        super().__init__()
        self.config = config
        self.position_agent = PositionSizingAgent(config)
        self.stop_loss_agent = BoundedAgent(config, config.stop_multiplier_min, config.stop_multiplier_max)
        self.profit_target_agent = BoundedAgent(config, config.reward_risk_min, config.reward_risk_max)
        self.value_head = nn.Sequential(
            nn.Linear(config.input_dim, config.value_hidden), nn.ReLU(), nn.Linear(config.value_hidden, 1)
        )

    def forward(self, synergy: torch.Tensor, account: torch.Tensor) -> MRMSOutput:
        """synergy (B, synergy_dim), account (B, account_dim) -> MRMSOutput."""
        x = torch.cat([synergy, account], dim=-1)  # (B, 40)
        return MRMSOutput(
            position_logits=self.position_agent(x),
            stop_multiplier=self.stop_loss_agent(x),
            reward_risk=self.profit_target_agent(x),
            value=self.value_head(x).squeeze(-1),  # (B,)
        )


def mrms_config_problems(c: MRMSConfig) -> list[str]:
    """Range checks of an MRMSConfig read from a file: one line per bad field, empty when sound.

    Sizes are bounded (100,000) so a hostile config.json cannot force a huge allocation.
    """
    out: list[str] = []
    for name in ("synergy_dim", "account_dim", "position_hidden1", "position_hidden2", "n_sizes",
                 "bounded_hidden1", "bounded_hidden2", "value_hidden"):
        v = getattr(c, name)
        if not 1 <= v <= 100_000:
            out.append(f"{name}={v!r}: expected an integer in 1..100,000")
    if not 0.0 <= c.dropout < 1.0:
        out.append(f"dropout={c.dropout!r}: expected a probability in [0, 1)")
    for lo_name, hi_name in (("stop_multiplier_min", "stop_multiplier_max"), ("reward_risk_min", "reward_risk_max")):
        lo, hi = getattr(c, lo_name), getattr(c, hi_name)
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 < lo < hi):
            out.append(f"{lo_name}={lo!r}, {hi_name}={hi!r}: expected finite values with 0 < min < max")
    return out
