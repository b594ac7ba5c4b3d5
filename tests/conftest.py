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


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """A models directory with tiny trained rde/, mrms/ and core/ (Jan-Aug 2017 SPY; the ES proxy
    for the M-RMS and core), and the 1-minute bars they were trained on: (models dir, bars).

    The RDE sees every window (stride 1) for 8 epochs (~15 s): enough to beat the input-blind
    baseline, which `algospace check` requires (tiny_rde's 3 epochs do not)."""
    from algospace.data import make_bars, sample
    from algospace.engines.mrms import RiskManager
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.training.core import train_core
    from algospace.training.core_config import CoreTrainConfig
    from algospace.training.mrms import prepare_mrms_data, train_mrms
    from algospace.training.mrms_config import MRMSTrainConfig
    from algospace.training.rde import train_rde
    from algospace.training.rde_config import RDETrainConfig

    bars = sample("spy-1m")
    bars = bars.loc[bars.index < "2017-09-01"]
    root = tmp_path_factory.mktemp("tiny-models")
    rde_cfg = RDETrainConfig.preset("tiny", threads=1, stride=1, max_epochs=8, patience=8)
    train_rde(make_bars(bars, 30, "SPY"), root / "rde", rde_cfg, instrument="SPY", progress=False)
    cfg = MRMSTrainConfig.preset("tiny", threads=1, max_iterations=4, eval_every=2, max_minutes=5.0)
    train_mrms(prepare_mrms_data(bars, cfg), root / "mrms", cfg, progress=False)
    rde, rm = RegimeDetectionEngine.load(root / "rde", device="cpu"), RiskManager.load(root / "mrms", device="cpu")
    train_core(bars, rde, rm, root / "core", CoreTrainConfig.preset("tiny", threads=1), progress=False,
               rde_path=root / "rde", mrms_path=root / "mrms")
    return root, bars
