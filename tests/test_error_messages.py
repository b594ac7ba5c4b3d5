"""Error messages read as sentences: no doubled words ("window window length T"), however composed."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from algospace.engines.rde import RegimeDetectionEngine
from algospace.errors import InputError
from algospace.features import FeatureSpec
from algospace.models import RDEConfig, RegimeVAE

DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
TINY = RDEConfig(input_dim=12, d_model=16, n_heads=2, n_layers=1, d_ff=32, head_hidden=8, decoder_hidden=8)


def assert_no_doubled_words(message: str) -> None:
    m = DOUBLED.search(message)
    assert m is None, f"doubled word {m.group(0)!r} in: {message}"


@pytest.fixture(scope="module")
def engine() -> RegimeDetectionEngine:
    torch.manual_seed(0)
    spec = FeatureSpec.default()  # the engine reads its input range (clip) from the spec
    return RegimeDetectionEngine(RegimeVAE(TINY).eval(), None, spec, torch.device("cpu"), {"window": 12})


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.get_regime_vector(np.zeros((5, 12), np.float32)),  # T below the minimum
        lambda e: e.get_regime_vector(np.zeros((600, 12), np.float32)),  # T above the maximum
        lambda e: e.get_regime_vectors(np.zeros((2, 5, 12), np.float32)),
        lambda e: e.get_regime_vectors(np.zeros((0, 12, 12), np.float32)),  # empty batch
        lambda e: e.get_regime_vectors(np.zeros((2, 12, 12), np.float32), batch_size=0),
        lambda e: e.get_regime_vector(np.zeros((12, 7), np.float32)),
        lambda e: e.get_regime_vector(np.full((12, 12), np.nan, np.float32)),
        lambda e: e.get_regime_vector(np.zeros((1, 12, 12), np.float32)),
        lambda e: e.get_regime_vector(np.zeros((12, 12), bool)),
        lambda e: e.regime_series([1, 2, 3]),
    ],
)
def test_engine_input_errors_have_no_doubled_words(engine, call):
    with pytest.raises(InputError) as info:
        call(engine)
    assert_no_doubled_words(str(info.value))


def test_the_checker_finds_doubled_words():
    with pytest.raises(AssertionError):
        assert_no_doubled_words("window window length T must be an int")
