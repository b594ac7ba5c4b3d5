"""Device handling of the RDE engine. CUDA tests run only where a GPU exists; elsewhere they
skip with the reason, and nothing here calls the GPU path ready without having run it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algospace.artifacts import save_artifact
from algospace.artifacts.layout import extras_writer
from algospace.engines.rde import RegimeDetectionEngine
from algospace.errors import InputError
from algospace.models.rde import RDEConfig, RegimeVAE

NO_CUDA = "no CUDA device on this machine: the CUDA path was not exercised (run tests/test_rde_devices.py on a GPU host)"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """A small RDE artifact with a real fitted feature spec (SPY slice)."""
    from algospace.data import make_bars, sample
    from algospace.features import FeatureSpec

    bars = sample("spy-1m")
    bars30 = make_bars(bars.loc[bars.index < "2017-05-01"], 30, "SPY")
    spec = FeatureSpec.default().fit(bars30)
    torch.manual_seed(0)
    model = RegimeVAE(RDEConfig(input_dim=spec.width, d_model=32, n_heads=4, n_layers=1, d_ff=64))
    out = tmp_path_factory.mktemp("dev") / "rde"
    save_artifact(model, out, kind="rde", provenance="trained",
                  metadata={"feature_spec_fingerprint": spec.fingerprint},
                  write_extra=extras_writer(feature_spec=spec))
    feats = spec.transform(bars30).to_numpy(np.float32)
    return out, feats


def test_cpu_and_auto_agree_on_this_machine(artifact):
    path, feats = artifact
    cpu = RegimeDetectionEngine.load(path, device="cpu")
    auto = RegimeDetectionEngine.load(path, device="auto")
    w = feats[-48:]
    expected_auto = "cuda" if torch.cuda.is_available() else "cpu"
    assert auto.device.type == expected_auto
    np.testing.assert_allclose(cpu.get_regime_vector(w), auto.get_regime_vector(w), atol=1e-4)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this host has CUDA; the missing-device error is tested elsewhere")
def test_asking_for_missing_cuda_is_a_clear_error(artifact):
    path, _ = artifact
    with pytest.raises(InputError, match="(?i)cuda"):
        RegimeDetectionEngine.load(path, device="cuda")


def test_unknown_device_string_is_a_clear_error(artifact):
    path, _ = artifact
    with pytest.raises(InputError):
        RegimeDetectionEngine.load(path, device="tpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_cuda_engine_matches_cpu_and_keeps_weights_on_gpu(artifact):
    path, feats = artifact
    cpu = RegimeDetectionEngine.load(path, device="cpu")
    gpu = RegimeDetectionEngine.load(path, device="cuda")
    assert all(p.device.type == "cuda" for p in gpu.model.parameters())
    batch = np.stack([feats[i : i + 48] for i in range(0, 480, 48)])
    np.testing.assert_allclose(cpu.get_regime_vectors(batch), gpu.get_regime_vectors(batch), atol=1e-4)
    v = gpu.get_regime_vector(feats[-48:])
    assert isinstance(v, np.ndarray) and v.dtype == np.float32


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_cuda_out_of_range_index_is_a_clear_error(artifact):
    path, _ = artifact
    with pytest.raises(InputError):
        RegimeDetectionEngine.load(path, device=f"cuda:{torch.cuda.device_count()}")


@pytest.fixture(scope="module")
def bars30_small():
    from algospace.data import make_bars, sample

    bars = sample("spy-1m")
    return make_bars(bars.loc[bars.index < "2017-06-01"], 30, "SPY")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this host has CUDA; the missing-device error needs a host without it")
def test_training_on_missing_cuda_fails_before_any_work(tmp_path, bars30_small):
    from algospace.training.rde import train_rde
    from algospace.training.rde_config import RDETrainConfig

    cfg = RDETrainConfig.preset("tiny", device="cuda")
    with pytest.raises(InputError, match="CUDA is not available"):
        train_rde(bars30_small, tmp_path / "rde", cfg, instrument="SPY", progress=False)
    assert not (tmp_path / "rde").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_training_on_cuda_saves_the_scored_weights_and_resumes_on_cpu(tmp_path, bars30_small):
    from algospace.artifacts import load_artifact
    from algospace.training.rde import checkpoint_path, evaluate_windows, fit_rde, prepare_rde_data, train_rde
    from algospace.training.rde_config import RDETrainConfig

    cfg = RDETrainConfig.preset("tiny", max_epochs=3, device="cuda")
    out = tmp_path / "rde"
    result = train_rde(bars30_small, out, cfg, instrument="SPY", progress=False)
    assert result.metrics["device"].startswith("cuda")
    assert all(p.device.type == "cpu" for p in result.model.parameters())
    # The artifact holds the weights the metrics were computed with: re-scoring the saved
    # model on the CPU gives the GPU's test metrics up to float noise.
    model, _ = load_artifact(out, device="cpu")
    rescored = evaluate_windows(model, result.data.windows["test"], cfg.beta)
    assert rescored["recon"] == pytest.approx(result.metrics["test"]["recon"], rel=1e-4)
    assert not checkpoint_path(out).exists()
    # A run interrupted on the GPU resumes on the CPU from its checkpoint.
    data = prepare_rde_data(bars30_small, "SPY", cfg)
    ckpt = tmp_path / "ckpt.pt"
    first = fit_rde(data, cfg.model_copy(update={"max_minutes": 1e-9}), checkpoint=ckpt, progress=False)
    assert first.metrics["stop_reason"] == "time_budget" and ckpt.exists()
    resumed = fit_rde(data, cfg.model_copy(update={"device": "cpu"}), checkpoint=ckpt, progress=False)
    assert resumed.metrics["epochs"] == len(resumed.history) > first.metrics["epochs"]
    assert resumed.metrics["device"] == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_cuda_engine_replays_a_graph_for_single_windows_and_matches_cpu(artifact):
    path, feats = artifact
    gpu = RegimeDetectionEngine.load(path, device="cuda")
    cpu = RegimeDetectionEngine.load(path, device="cpu")
    assert gpu.backend == "torch+cuda-graph" and cpu.backend == "torch+onednn"
    t = gpu.window
    outs = [gpu.get_regime_vector(feats[i : i + t]) for i in (0, 10, 20)]
    for i, out in zip((0, 10, 20), outs):  # each call sees its own window, not the previous one's
        np.testing.assert_allclose(out, cpu.get_regime_vector(feats[i : i + t]), atol=1e-4)
    assert not np.shares_memory(outs[0], outs[1])  # results are not views of the reused buffer
    assert np.abs(outs[0] - outs[2]).max() > 1e-6
    # Other shapes (another T, batches) run eagerly on the same GPU.
    np.testing.assert_allclose(gpu.get_regime_vector(feats[:24]), cpu.get_regime_vector(feats[:24]), atol=1e-4)
    batch = np.stack([feats[i : i + t] for i in range(0, 60, 6)])
    np.testing.assert_allclose(gpu.get_regime_vectors(batch), cpu.get_regime_vectors(batch), atol=1e-4)
