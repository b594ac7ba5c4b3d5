"""The engine's PyTorch backends: default fast path, eager and AOTInductor agree on the same weights."""

from __future__ import annotations

import numpy as np
import pytest

from algospace.engines.rde import BACKENDS, RegimeDetectionEngine
from algospace.engines.torch_fast import AOTI_MIN_TORCH, _torch_version
from algospace.errors import InputError


@pytest.fixture(scope="module")
def artifact(tiny_rde):
    out, bars30 = tiny_rde
    eager = RegimeDetectionEngine.load(out, device="cpu", backend="torch-eager")
    feats = eager.features(bars30.iloc[-200:]).to_numpy(np.float32)
    return out, eager, feats


def _windows(feats: np.ndarray, t: int) -> list[np.ndarray]:
    return [feats[i : i + t] for i in range(0, len(feats) - t, 17)]


def test_default_cpu_backend_is_the_onednn_path_and_matches_eager(artifact):
    path, eager, feats = artifact
    fast = RegimeDetectionEngine.load(path, device="cpu")
    assert eager.backend == "torch-eager" and fast.backend == "torch+onednn"
    t = fast.window
    for w in _windows(feats, t):
        np.testing.assert_allclose(fast.get_regime_vector(w), eager.get_regime_vector(w), atol=1e-5)
    # Batches of the trained T take the same kernels; other window lengths run eager PyTorch.
    batch = np.stack(_windows(feats, t))
    np.testing.assert_allclose(fast.get_regime_vectors(batch), eager.get_regime_vectors(batch), atol=1e-5)
    np.testing.assert_allclose(fast.get_regime_vectors(batch, batch_size=3), eager.get_regime_vectors(batch), atol=1e-5)
    np.testing.assert_array_equal(fast.get_regime_vector(feats[: t + 5]), eager.get_regime_vector(feats[: t + 5]))


@pytest.mark.skipif(_torch_version() < AOTI_MIN_TORCH, reason="torch-aoti is refused before torch 2.13 (a crash seen on 2.11)")
def test_aoti_backend_compiles_and_matches_eager(artifact):
    path, eager, feats = artifact
    aoti = RegimeDetectionEngine.load(path, device="cpu", backend="torch-aoti")  # one compile, ~10 s
    assert aoti.backend == "torch-aoti"
    for w in _windows(feats, aoti.window):
        np.testing.assert_allclose(aoti.get_regime_vector(w), eager.get_regime_vector(w), atol=1e-5)
    with pytest.raises(InputError, match="155"):
        aoti.get_regime_vector(feats[: aoti.window, :150])
    _refuses_out_of_range_and_serves_the_edge(aoti, eager, feats)


def _refuses_out_of_range_and_serves_the_edge(engine, eager, feats, atol=1e-4):
    """Features are clipped at +-clip (10): beyond that an input is refused, at the edge it is served."""
    t = engine.window
    w = feats[:t].copy()
    one = w.copy()
    one[3, 7] = 1e30
    for bad in (one, np.full_like(w, 1e20), -one):
        with pytest.raises(InputError, match="outside the feature spec's range"):
            engine.get_regime_vector(bad)
    with pytest.raises(InputError, match="outside the feature spec's range"):
        engine.get_regime_vectors(np.stack([w, one]))
    edge = np.clip(w * 1e3, -engine.input_limit, engine.input_limit)  # every value at +-10 or near it
    got = engine.get_regime_vectors(np.stack([edge, w]))
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, eager.get_regime_vectors(np.stack([edge, w])), atol=atol)


@pytest.mark.parametrize("backend", ["torch", "torch-eager", "onnxruntime"])
def test_inputs_beyond_the_spec_range_are_refused_on_every_backend(artifact, backend):
    path, eager, feats = artifact
    engine = RegimeDetectionEngine.load(path, device="cpu", backend=backend)
    assert engine.input_limit == 10.0
    _refuses_out_of_range_and_serves_the_edge(engine, eager, feats)


def test_regime_series_refuses_features_beyond_the_spec_range(tiny_rde, artifact):
    _, bars30 = tiny_rde
    _, eager, _ = artifact
    frame = eager.features(bars30.iloc[-200:])
    frame.iloc[60, 5] = 1e30
    with pytest.raises(InputError, match=f"feature '{frame.columns[5]}' is 1e\\+30 at"):
        eager.regime_series(frame)


def test_unknown_backend_names_the_choices(artifact):
    path, _, _ = artifact
    with pytest.raises(InputError, match="torch-aoti") as err:
        RegimeDetectionEngine.load(path, device="cpu", backend="tensorrt")
    assert all(name in str(err.value) for name in BACKENDS)


@pytest.mark.parametrize("backend", ["onnxruntime-int8", "torch-bf16"])
def test_lower_precision_backends_have_their_own_stated_tolerance(artifact, backend):
    """int8 (ONNX Runtime dynamic quantization) and bf16 (oneDNN) approximate the fp32 model: each
    is checked at load against eager within its stated tolerance (never the fp32 check's), stays
    within it on real windows, and is refused when it disagrees by more."""
    from algospace.engines.onnx_backend import INT8_ATOL, OnnxRuntimeBackend
    from algospace.engines.torch_fast import BF16_ATOL, FastRegimeVector
    from algospace.errors import ArtifactError

    path, eager, feats = artifact
    tol, precision = (INT8_ATOL, "int8") if backend == "onnxruntime-int8" else (BF16_ATOL, "bf16")
    q = RegimeDetectionEngine.load(path, device="cpu", backend=backend)
    assert q.backend == backend and q._runner.precision == precision
    assert 0 < q._runner.max_abs_diff <= tol
    ws = np.stack(_windows(feats, q.window))
    diff = np.abs(q.get_regime_vectors(ws) - eager.get_regime_vectors(ws)).max()
    assert 0 < diff <= tol
    np.testing.assert_allclose(q.get_regime_vector(ws[0]), eager.get_regime_vector(ws[0]), atol=tol)
    _refuses_out_of_range_and_serves_the_edge(q, eager, feats, atol=tol)
    # the fp32 paths keep their own tight checks
    assert RegimeDetectionEngine.load(path, device="cpu", backend="onnxruntime")._runner.max_abs_diff <= 1e-4 < tol
    assert RegimeDetectionEngine.load(path, device="cpu", backend="torch")._runner.max_abs_diff <= 1e-5
    with pytest.raises(ArtifactError, match="disagrees with the eager model"):
        if precision == "int8":
            OnnxRuntimeBackend(eager.model, eager.window, threads=1, precision="int8", atol=1e-7)
        else:
            FastRegimeVector(eager.model, eager.window, "onednn", atol=1e-7, precision="bf16")
    with pytest.raises(InputError, match="precision"):
        OnnxRuntimeBackend(eager.model, eager.window, precision="int4")
    with pytest.raises(InputError, match="precision"):
        FastRegimeVector(eager.model, eager.window, "aoti", precision="bf16")
