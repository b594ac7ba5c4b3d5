"""The gate's risk vector: one builder for a single proposal and for batches, values by hand."""

from __future__ import annotations

import numpy as np

from algospace.engines.mrms import ProposalArrays, RiskProposal
from algospace.engines.risk_vector import RISK_VECTOR_NAMES, risk_vector


def _proposal(size: int = 2, cut: bool = False) -> RiskProposal:
    return RiskProposal(
        position_size=size, model_size=3, direction="LONG", instrument="ES", entry_price=4000.0,
        stop_loss_price=3996.0, take_profit_price=4008.0, stop_ticks=16, target_ticks=32, risk_amount=size * 200.0,
        reward_amount=size * 400.0, risk_reward_ratio=2.0, sl_atr_multiplier=2.0, confidence=0.4, size_cut=cut,
        size_cut_by="daily_loss" if cut else "none",
    )


def test_values_by_hand() -> None:
    v = risk_vector(_proposal(), atr=2.0, tick_size=0.25, room_usd=1000.0, max_contracts=5)
    assert v.shape == (8,) and v.dtype == np.float32 and len(RISK_VECTOR_NAMES) == 8
    np.testing.assert_allclose(v, [0.4, 2.0, 4.0 / 5, 0.4, 0.4, 0.4, 2.0 / 3, 0.0], rtol=1e-6)
    no_room = risk_vector(_proposal(cut=True), atr=2.0, tick_size=0.25, room_usd=0.0, max_contracts=5)
    assert no_room[4] == 1.0 and no_room[7] == 1.0


def test_batch_rows_equal_single_proposals() -> None:
    props = [_proposal(1), _proposal(2, cut=True), _proposal(5)]
    arrays = ProposalArrays(
        **{f: np.array([getattr(p, f) for p in props]) for f in (
            "position_size", "model_size", "stop_loss_price", "take_profit_price", "stop_ticks", "target_ticks",
            "risk_amount", "reward_amount", "risk_reward_ratio", "sl_atr_multiplier", "confidence")},
        cut=np.array([0, 2, 0], dtype=np.int8),
    )
    atr, room = np.array([2.0, 3.0, 1.5]), np.array([1000.0, 250.0, 2000.0])
    batch = risk_vector(arrays, atr, 0.25, room, 5)
    assert batch.shape == (3, 8)
    for i, p in enumerate(props):
        np.testing.assert_array_equal(batch[i], risk_vector(p, atr[i], 0.25, room[i], 5))
