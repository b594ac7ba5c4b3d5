"""The decision gate's 8-value risk vector, built from an M-RMS proposal: the one builder.

Training (batched `ProposalArrays`) and the runtime (one `RiskProposal`) call the same
function, so the gate always reads the same layout.

| # | name | value |
|---|---|---|
| 0 | size_frac | contracts / the account's maximum |
| 1 | stop_atr | stop distance / ATR (as placed, on the tick grid) |
| 2 | target_atr | target distance / ATR, divided by 5 (the R:R cap) |
| 3 | reward_risk | reward:risk / 5 |
| 4 | risk_of_room | risk in USD / the room left before the binding account limit (1 when no room) |
| 5 | confidence | the M-RMS's probability of its chosen size |
| 6 | stop_mult | the network's ATR stop multiplier / 3 (its cap) |
| 7 | size_cut | 1 when an account rule cut the network's size, else 0 |
"""

from __future__ import annotations

from typing import Any

import numpy as np

RISK_VECTOR_NAMES = ("size_frac", "stop_atr", "target_atr", "reward_risk", "risk_of_room", "confidence", "stop_mult",
                     "size_cut")


def risk_vector(proposal: Any, atr: Any, tick_size: float, room_usd: Any, max_contracts: int) -> np.ndarray:
    """(8,) float32 for one `RiskProposal`, (N, 8) for `ProposalArrays` with arrays of atr/room."""
    size = np.asarray(proposal.position_size, dtype=np.float64)
    atr = np.asarray(atr, dtype=np.float64)
    room = np.asarray(room_usd, dtype=np.float64)
    cut = getattr(proposal, "size_cut", None)
    cut = np.asarray(proposal.cut != 0 if cut is None else cut, dtype=np.float64)
    risk = np.asarray(proposal.risk_amount, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        of_room = np.where(room > 0, np.minimum(risk / np.where(room > 0, room, 1.0), 1.0), 1.0)
    out = np.stack(
        [
            size / max_contracts,
            np.asarray(proposal.stop_ticks, dtype=np.float64) * tick_size / atr,
            np.asarray(proposal.target_ticks, dtype=np.float64) * tick_size / atr / 5.0,
            np.asarray(proposal.risk_reward_ratio, dtype=np.float64) / 5.0,
            of_room,
            np.asarray(proposal.confidence, dtype=np.float64),
            np.asarray(proposal.sl_atr_multiplier, dtype=np.float64) / 3.0,
            cut,
        ],
        axis=-1,
    )
    return out.astype(np.float32)
