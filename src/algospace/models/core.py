"""Decision core: qualifies a synergy signal ("initiate" or "do nothing") and gates the trade.

The reference's "Main MARL core" in its later form: four embedders (30-minute matrix, 5-minute
matrix, regime vector, LVN summary) plus the synergy vector feed a shared policy MLP with two
actions; Monte-Carlo dropout gives a confidence; a small decision gate then reads the state plus
an 8-value risk vector built from the M-RMS proposal and says whether to execute.

The reference's "17.6K parameters" could not be traced to a definition; the sizes below are
chosen to follow its shape and land near that figure (`docs/core.md` has the table per part).

Monte-Carlo dropout runs as ONE batched forward pass: the embedders are deterministic, so they
run once; the state is repeated `passes` times along a new leading dimension and the dropout
layers of the policy head sample a different mask for each copy. Pure nn.Module: no I/O, no
device logic, no validation (the `DecisionCore` engine owns those).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def _dropout(h: torch.Tensor, p: float, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
    """Inverted dropout; masks from `generator` when given (F.dropout takes no generator, and
    an engine must draw its MC masks without touching the caller's global RNG)."""
    if not sample or p == 0.0:
        return h
    if generator is None:
        return F.dropout(h, p, training=True)
    keep = torch.empty(h.shape, device=h.device, dtype=h.dtype).bernoulli_(1.0 - p, generator=generator)
    return h * keep / (1.0 - p)


class Matrix30mEmbedder(nn.Module):
    """Conv1d stack over the 30-minute matrix (T, 8) -> a 64-value summary."""

    def __init__(self, config: CoreConfig) -> None:
        super().__init__()
        c = config
        self.conv1 = nn.Conv1d(c.m30_features, c.conv_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(c.conv_channels, c.conv_channels, kernel_size=3, padding=1, stride=2)
        self.proj = nn.Linear(2 * c.conv_channels, c.m30_embed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.conv1(x.transpose(1, 2)))  # (B, C, T)
        h = F.gelu(self.conv2(h))  # (B, C, T/2)
        # mean over the window and the newest step: the level and where it ended
        pooled = torch.cat([h.mean(dim=-1), h[..., -1]], dim=-1)  # (B, 2C)
        return F.gelu(self.proj(pooled))  # (B, m30_embed)


class Matrix5mEmbedder(nn.Module):
    """Small bidirectional LSTM with additive attention over the 5-minute matrix (T, 7) -> 48."""

    def __init__(self, config: CoreConfig) -> None:
        super().__init__()
        c = config
        self.lstm = nn.LSTM(c.m5_features, c.lstm_hidden, batch_first=True, bidirectional=True)
        self.attn = nn.Linear(2 * c.lstm_hidden, 1)
        self.proj = nn.Linear(2 * c.lstm_hidden, c.m5_embed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)  # (B, T, 2H)
        w = torch.softmax(self.attn(h), dim=1)  # (B, T, 1)
        context = (w * h).sum(dim=1)  # (B, 2H)
        return F.gelu(self.proj(context))  # (B, m5_embed)


class PolicyHead(nn.Module):
    """Shared MLP: state -> logits over (do nothing, initiate). Dropout here is the MC-dropout."""

    def __init__(self, config: CoreConfig) -> None:
        super().__init__()
        c = config
        self.fc1 = nn.Linear(c.state_dim, c.policy_hidden)
        self.fc2 = nn.Linear(c.policy_hidden, c.policy_hidden2)
        self.out = nn.Linear(c.policy_hidden2, 2)
        self.dropout = c.dropout

    def forward(self, state: torch.Tensor, sample: bool, generator: torch.Generator | None = None) -> torch.Tensor:
        # `sample=True` keeps dropout on whatever the module mode: that is Monte-Carlo dropout
        h = _dropout(state, self.dropout, sample, generator)
        h = _dropout(F.gelu(self.fc1(h)), self.dropout, sample, generator)
        h = _dropout(F.gelu(self.fc2(h)), self.dropout, sample, generator)
        return self.out(h)  # (..., 2)


class DecisionGate(nn.Module):
    """State plus the 8-value M-RMS risk vector -> one execute logit."""

    def __init__(self, config: CoreConfig) -> None:
        super().__init__()
        c = config
        self.net = nn.Sequential(
            nn.Linear(c.state_dim + c.risk_dim, c.gate_hidden), nn.GELU(), nn.Linear(c.gate_hidden, 1)
        )

    def forward(self, state: torch.Tensor, risk: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([state, risk], dim=-1)).squeeze(-1)  # (B,)


@dataclass(frozen=True)
class CoreConfig:
    m30_window: int = 48  # bars of the 30-minute matrix (features/matrices.py)
    m30_features: int = 8
    m5_window: int = 60  # bars of the 5-minute matrix
    m5_features: int = 7
    regime_dim: int = 8  # the RDE's latent
    lvn_dim: int = 5  # LVN summary
    synergy_dim: int = 30  # the synergy vector, as the M-RMS reads it
    risk_dim: int = 8  # the gate's risk vector from the M-RMS proposal
    conv_channels: int = 24
    m30_embed: int = 64  # the reference's 30-minute embedding width
    lstm_hidden: int = 12  # per direction
    m5_embed: int = 48  # the reference's 5-minute embedding width
    regime_embed: int = 16  # reference: 8 -> 16
    lvn_embed: int = 8  # reference: 5 -> 8
    synergy_embed: int = 8
    policy_hidden: int = 40
    policy_hidden2: int = 16
    gate_hidden: int = 12
    dropout: float = 0.1  # MC-dropout rate: large enough to spread 50 passes, small enough to keep the mean

    @property
    def state_dim(self) -> int:
        return self.m30_embed + self.m5_embed + self.regime_embed + self.lvn_embed + self.synergy_embed


class CoreInputs(NamedTuple):
    m30: torch.Tensor  # (B, m30_window, 8)
    m5: torch.Tensor  # (B, m5_window, 7)
    regime: torch.Tensor  # (B, 8)
    lvn: torch.Tensor  # (B, 5)
    synergy: torch.Tensor  # (B, 30)


class CoreOutput(NamedTuple):
    initiate_prob: torch.Tensor  # (B,) mean over MC passes of P(initiate)
    initiate_std: torch.Tensor  # (B,) spread over the passes (0 without sampling)
    state: torch.Tensor  # (B, state_dim) the deterministic state the gate reads


class DecisionCoreModel(nn.Module):
    """Embedders -> state -> policy head (MC dropout) and decision gate."""

    def __init__(self, config: CoreConfig) -> None:
        super().__init__()
        c = config
        self.config = config
        self.m30_embedder = Matrix30mEmbedder(c)
        self.m5_embedder = Matrix5mEmbedder(c)
        self.regime_embedder = nn.Linear(c.regime_dim, c.regime_embed)
        self.lvn_embedder = nn.Linear(c.lvn_dim, c.lvn_embed)
        self.synergy_embedder = nn.Linear(c.synergy_dim, c.synergy_embed)
        self.policy = PolicyHead(c)
        self.gate = DecisionGate(c)

    def embed(self, x: CoreInputs) -> torch.Tensor:
        """The deterministic state: every embedder once."""
        return torch.cat(
            [
                self.m30_embedder(x.m30),
                self.m5_embedder(x.m5),
                F.gelu(self.regime_embedder(x.regime)),
                F.gelu(self.lvn_embedder(x.lvn)),
                F.gelu(self.synergy_embedder(x.synergy)),
            ],
            dim=-1,
        )  # (B, state_dim)

    def policy_logits(self, state: torch.Tensor, passes: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
        """passes=0: one pass (B, 2), dropout only in training mode. passes=P: P dropout
        samples (P, B, 2) in one batch, masks from `generator` when given."""
        if passes <= 0:
            return self.policy(state, sample=self.training, generator=generator)
        repeated = state.unsqueeze(0).expand(passes, *state.shape)  # (P, B, state_dim)
        return self.policy(repeated, sample=True, generator=generator)  # (P, B, 2)

    def forward(self, x: CoreInputs, passes: int = 0, generator: torch.Generator | None = None) -> CoreOutput:
        state = self.embed(x)  # (B, state_dim)
        logits = self.policy_logits(state, passes, generator)
        p = torch.softmax(logits, dim=-1)[..., 1]  # (B,) or (P, B)
        if passes <= 0:
            return CoreOutput(p, torch.zeros_like(p), state)
        return CoreOutput(p.mean(dim=0), p.std(dim=0, unbiased=False), state)

    def gate_logit(self, state: torch.Tensor, risk: torch.Tensor) -> torch.Tensor:
        return self.gate(state, risk)  # (B,)

    def parameter_table(self) -> dict[str, int]:
        """Parameters per part, for docs/core.md and the test that pins the count."""
        parts = {
            "m30_embedder": self.m30_embedder,
            "m5_embedder": self.m5_embedder,
            "regime_embedder": self.regime_embedder,
            "lvn_embedder": self.lvn_embedder,
            "synergy_embedder": self.synergy_embedder,
            "policy": self.policy,
            "gate": self.gate,
        }
        return {k: sum(p.numel() for p in m.parameters()) for k, m in parts.items()}


def core_config_problems(c: CoreConfig) -> list[str]:
    """Range checks of a CoreConfig read from a file: one line per bad field, empty when sound."""
    out: list[str] = []
    for name in ("m30_window", "m30_features", "m5_window", "m5_features", "regime_dim", "lvn_dim", "synergy_dim",
                 "risk_dim", "conv_channels", "m30_embed", "lstm_hidden", "m5_embed", "regime_embed", "lvn_embed",
                 "synergy_embed", "policy_hidden", "policy_hidden2", "gate_hidden"):
        v = getattr(c, name)
        if not 1 <= v <= 100_000:
            out.append(f"{name}={v!r}: expected an integer in 1..100,000")
    if not (math.isfinite(c.dropout) and 0.0 <= c.dropout < 1.0):
        out.append(f"dropout={c.dropout!r}: expected a probability in [0, 1)")
    return out


def _register() -> None:
    from algospace.models.registry import register_model

    register_model("core", CoreConfig, DecisionCoreModel, check_config=core_config_problems)


_register()
