"""The optional ONNX Runtime backend of the RDE engine: same weights, same vectors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="optional extra 'onnx' not installed")

from algospace.engines.rde import RegimeDetectionEngine  # noqa: E402
from algospace.errors import InputError  # noqa: E402


@pytest.fixture(scope="module")
def artifact(tiny_rde):
    return tiny_rde


def test_onnxruntime_backend_matches_torch(artifact):
    path, bars30 = artifact
    torch_engine = RegimeDetectionEngine.load(path, device="cpu")
    ort_engine = RegimeDetectionEngine.load(path, device="cpu", backend="onnxruntime")
    assert torch_engine.backend == "torch+onednn" and ort_engine.backend == "onnxruntime"
    feats = torch_engine.features(bars30.iloc[-300:]).to_numpy(np.float32)
    t = torch_engine.window
    batch = np.stack([feats[i : i + t] for i in range(0, 150, 3)])
    np.testing.assert_allclose(ort_engine.get_regime_vectors(batch), torch_engine.get_regime_vectors(batch), atol=1e-5)
    # another window length runs on PyTorch and still agrees
    np.testing.assert_allclose(ort_engine.get_regime_vector(feats[:20]), torch_engine.get_regime_vector(feats[:20]), atol=1e-6)
    a = ort_engine.regime_series(bars30.iloc[-300:])
    b = torch_engine.regime_series(bars30.iloc[-300:])
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-5)


def test_unknown_backend_is_an_input_error(artifact):
    path, _ = artifact
    with pytest.raises(InputError, match="backend"):
        RegimeDetectionEngine.load(path, device="cpu", backend="tensorrt")
