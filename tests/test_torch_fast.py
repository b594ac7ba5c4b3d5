"""The fast single-window PyTorch path agrees with the eager model and refuses or reroutes bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algospace.engines.torch_fast import fast_regime_vector
from algospace.errors import InputError
from algospace.models.rde import RDEConfig, RegimeVAE

TINY = RDEConfig(d_model=32, n_heads=4, d_ff=64, n_layers=2, head_hidden=16)
WINDOW = 24


def _model(config: RDEConfig, seed: int = 0) -> RegimeVAE:
    torch.manual_seed(seed)
    return RegimeVAE(config).eval()


def _eager(model: RegimeVAE, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model.regime_vector(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy()


@pytest.fixture(scope="module")
def tiny_aoti():
    model = _model(TINY)
    return model, fast_regime_vector(model, WINDOW)  # auto: AOTInductor (one ~10 s compile for the module)


def _windows(t: int, batch: int = 1, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, t, 155)).astype(np.float32)


def test_tiny_auto_matches_eager_and_is_deterministic(tiny_aoti):
    model, fast = tiny_aoti
    assert fast.mode in ("aoti", "onednn")  # onednn only where no C++ compiler is found
    x = _windows(WINDOW)
    assert fast.accepts(torch.from_numpy(x))
    got = fast(x)
    assert isinstance(got, np.ndarray) and got.shape == (1, TINY.latent_dim) and got.dtype == np.float32
    assert float(np.abs(got - _eager(model, x)).max()) <= 1e-5
    assert np.array_equal(got, fast(torch.from_numpy(x)))  # numpy and torch input, same bits on a repeat


def test_reference_config_onednn_matches_eager():
    model = _model(RDEConfig())
    fast = fast_regime_vector(model, 48, mode="onednn")
    assert fast.mode == "onednn" and fast.max_abs_diff <= 1e-5
    for seed in (2, 3):
        x = _windows(48, seed=seed) * 3.0
        assert float(np.abs(fast(x) - _eager(model, x)).max()) <= 1e-5


def test_tiny_onednn_matches_eager():
    model = _model(TINY, seed=4)
    fast = fast_regime_vector(model, WINDOW, mode="onednn")
    x = _windows(WINDOW, seed=5)
    assert float(np.abs(fast(x) - _eager(model, x)).max()) <= 1e-5


def test_batches_take_the_onednn_path_and_other_shapes_fall_back_to_eager(tiny_aoti):
    model, fast = tiny_aoti
    for b in (2, 3, 64):  # batches of the trained T: all rows through the oneDNN GEMMs
        x = _windows(WINDOW, batch=b, seed=b)
        assert fast.accepts(x)
        assert float(np.abs(fast(x) - _eager(model, x)).max()) <= 1e-5
    for x in (_windows(WINDOW + 6), _windows(WINDOW).astype(np.float64)):
        assert not fast.accepts(x)
        assert float(np.abs(fast(x) - _eager(model, x)).max()) <= 1e-6


def test_bad_input_raises(tiny_aoti):
    _, fast = tiny_aoti
    with pytest.raises(InputError, match="155"):
        fast(np.zeros((1, WINDOW, 154), np.float32))
    with pytest.raises(InputError, match=r"\(B, T, 155\)"):
        fast(np.zeros((WINDOW, 155), np.float32))
    with pytest.raises(InputError, match="got list"):
        fast([[0.0] * 155] * WINDOW)


def test_bad_build_arguments_raise():
    model = _model(TINY)
    with pytest.raises(InputError, match="mode"):
        fast_regime_vector(model, WINDOW, mode="fast")
    with pytest.raises(InputError, match="window"):
        fast_regime_vector(model, 0, mode="onednn")
    with pytest.raises(InputError, match="eval"):
        fast_regime_vector(model.train(), WINDOW, mode="onednn")


def test_aoti_is_refused_before_the_torch_version_that_crashed():
    """torch 2.11 segfaulted loading the reference model's package: refuse it with a clear error."""
    from algospace.engines.torch_fast import _compile_aoti

    with pytest.raises(RuntimeError, match=r"needs torch >= 2\.13 \(found 2\.11"):
        _compile_aoti(_model(TINY), WINDOW, torch_version=(2, 11))
