"""Fixtures shared by several test files."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_rde(tmp_path_factory):
    """A tiny RDE trained on SPY (Jan-Jun 2017) and its 30-minute bars: (artifact path, bars)."""
    from algospace.data import make_bars, sample
    from algospace.training.rde import train_rde
    from algospace.training.rde_config import RDETrainConfig

    bars = sample("spy-1m")
    bars30 = make_bars(bars.loc[bars.index < "2017-07-01"], 30, "SPY")
    out = tmp_path_factory.mktemp("tiny-rde") / "rde"
    train_rde(bars30, out, RDETrainConfig.preset("tiny", threads=1), instrument="SPY", progress=False)
    return out, bars30
