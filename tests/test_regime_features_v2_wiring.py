"""Feature spec version 2 wired through: RDE training (`features='v2'`), the engine, and the runtime's
feature stream (the BarStage publishes 1-minute bars when the RDE's spec reads them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from algospace.data import get_instrument, make_bars, sample
from algospace.engines.core import DecisionCore
from algospace.engines.mrms import RiskManager
from algospace.errors import InputError
from algospace.evaluation.rde_eval import train_in_memory
from algospace.features.regime.inputs import session_features
from algospace.models.core import CoreConfig, DecisionCoreModel
from algospace.models.mrms import MRMSConfig, MRMSModel
from algospace.runtime.deciders import ModelDecider
from algospace.runtime.models import ModelSet
from algospace.runtime.runner import Runtime
from algospace.runtime.sources import ReplaySource
from algospace.training.rde import prepare_rde_data
from algospace.training.rde_config import RDETrainConfig

SPY = get_instrument("SPY")


@pytest.fixture(scope="module")
def minutes() -> pd.DataFrame:
    one = sample("spy-1m")
    return one[(one.index >= "2017-01-01") & (one.index < "2017-05-01")]


@pytest.fixture(scope="module")
def cfg() -> RDETrainConfig:
    return RDETrainConfig.preset("tiny", max_epochs=2, threads=1, features="v2")


@pytest.fixture(scope="module")
def engine_v2(minutes: pd.DataFrame, cfg: RDETrainConfig):  # noqa: ANN201
    engine, data, _ = train_in_memory(minutes, cfg)
    return engine


def test_training_on_v2_fits_a_version_2_spec_and_refuses_30_minute_bars(minutes: pd.DataFrame, cfg: RDETrainConfig) -> None:
    assert RDETrainConfig.preset("tiny").features == "v1" and cfg.feature_version == 2
    data = prepare_rde_data(minutes, "SPY", cfg)
    assert data.spec.version == 2 and data.features.shape[1] == 155 and data.spec.width == 155
    assert data.features.attrs["feature_spec_fingerprint"] == data.spec.fingerprint
    with pytest.raises(InputError, match="1-minute bars"):
        prepare_rde_data(make_bars(minutes, 30, "SPY"), "SPY", cfg)


def test_engine_reads_v2_features_built_from_minutes(engine_v2, minutes: pd.DataFrame) -> None:  # noqa: ANN001
    feats = session_features(engine_v2.feature_spec, minutes, "SPY")
    vectors = engine_v2.regime_series(feats)
    assert vectors.shape[1] == 8 and np.isfinite(vectors.to_numpy()).all()
    # given the 1-minute bars themselves, the engine builds the same features (minutes included)
    pd.testing.assert_frame_equal(engine_v2.features(minutes), feats)
    pd.testing.assert_frame_equal(engine_v2.regime_series(minutes), vectors)
    with pytest.raises(InputError, match="1-minute bars"):  # 30-minute bars hold no minutes to read
        engine_v2.regime_series(make_bars(minutes, 30, "SPY"))


def test_core_data_gives_a_v2_rde_its_minutes(engine_v2, minutes: pd.DataFrame) -> None:  # noqa: ANN001
    from algospace.training.core_data import prepare_core_data, regime_at

    data = prepare_core_data(minutes, engine_v2, RiskManager(MRMSModel(MRMSConfig()).eval()), instrument="SPY")
    vectors = engine_v2.regime_series(minutes, batch_size=1).to_numpy(np.float32)  # one window a call, as core data
    regime = data.inputs["regime"]
    assert regime.shape[1] == 8 and np.isfinite(regime).all() and len(regime) > 0
    # every row's regime vector is, bit for bit, one of the engine's vectors built from the minutes
    assert all((vectors == row).all(axis=1).any() for row in regime)
    with pytest.raises(InputError, match="1-minute bars"):
        regime_at(engine_v2, make_bars(minutes, 30, "SPY"), np.array([0]))


def test_runtime_feeds_the_v2_stream_with_minutes_and_matches_batch(engine_v2, minutes: pd.DataFrame) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    core = DecisionCore(DecisionCoreModel(CoreConfig()).eval(), None, torch.device("cpu"), threshold=0.0)
    models = ModelSet(engine_v2, RiskManager(MRMSModel(MRMSConfig()).eval()), core, Path("."))
    part = minutes[minutes.index >= "2017-03-01"]
    rt = Runtime(SPY, lambda bus, inst: ModelDecider(bus, models, inst))
    assert rt.decider.needs_minute_bars and 1 in rt.bars.builders
    rt.run(ReplaySource(part), end_of_data=True)
    converted = rt.bars.convert(part)  # the traded instrument's prices, as the runtime saw them
    batch = engine_v2.feature_spec.transform(make_bars(converted, 30, "SPY"), minute_bars=converted)
    window = batch.to_numpy(np.float32)[-engine_v2.window :]
    live = rt.decider.regime_vector()
    assert live is not None
    np.testing.assert_allclose(live, engine_v2.get_regime_vector(window), rtol=0, atol=1e-5)
