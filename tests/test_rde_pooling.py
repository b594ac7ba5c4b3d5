"""Pooling read-outs and the temporal-contrastive term of the RDE (issue 14).

Every pooling gives causal vectors, respects a padding mask, runs the same on every CPU
backend; artifacts written before the pooling fields existed load with the reference's mean
pooling and give the same vectors; the contrastive term prefers nearby windows.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from algospace.artifacts import load_artifact, save_artifact
from algospace.engines.torch_fast import fast_regime_vector
from algospace.errors import ArtifactError, ConfigError
from algospace.features.regime.window import window_view
from algospace.models.rde import POOLINGS, RDEConfig, RegimeVAE, temporal_contrastive
from algospace.training.rde_config import RDETrainConfig
from artifact_edits import resign

TINY = RDEConfig(input_dim=155, d_model=32, n_heads=4, n_layers=2, d_ff=64, head_hidden=16, decoder_hidden=16)
WINDOW = 16


def _model(pooling: str, seed: int = 0, **kw: object) -> RegimeVAE:
    torch.manual_seed(seed)
    return RegimeVAE(dataclasses.replace(TINY, pooling=pooling, **kw)).eval()


def _vectors(model: RegimeVAE, series: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """The vector of the window ending at each bar, as regime_series builds them."""
    with torch.inference_mode():
        return model.regime_vector(torch.from_numpy(np.ascontiguousarray(window_view(series, window)))).numpy()


@pytest.mark.parametrize("pooling", POOLINGS)
def test_every_pooling_gives_causal_vectors_that_read_the_last_bar(pooling):
    model = _model(pooling)
    series = np.random.default_rng(0).standard_normal((80, 155)).astype(np.float32)
    before = _vectors(model, series)
    cut = 50  # bars after `cut` change: every vector of a window ending at or before it must not
    changed = series.copy()
    changed[cut + 1 :] += 5.0
    after = _vectors(model, changed)
    first_moved = cut + 1 - (WINDOW - 1)  # row of the window ending at bar cut+1
    np.testing.assert_array_equal(before[:first_moved], after[:first_moved])
    # ...and the window that ends on the first changed bar sees it: no pooling ignores the newest bar
    assert np.abs(before[first_moved] - after[first_moved]).max() > 1e-4


@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_mask_gives_the_vector_of_the_short_window(pooling):
    model = _model(pooling, seed=1, dropout=0.0)
    x = torch.randn(1, 12, 155)
    for side in ("end", "start"):  # padding after or before the valid bars
        noise = torch.randn(1, 5, 155) * 50
        padded = torch.cat([x, noise] if side == "end" else [noise, x], dim=1)
        mask = torch.zeros(1, 17, dtype=torch.bool)
        mask[:, 12:] = side == "end"
        mask[:, :5] = side == "start"
        with torch.no_grad():
            short, _ = model.encode(x)
            masked, _ = model.encode(padded, mask)
        if side == "start" and pooling != "mean":
            # positions shift with front padding, so only the pooling's masking is compared: the
            # noise must carry no weight (same result for any noise)
            with torch.no_grad():
                other, _ = model.encode(torch.cat([noise * -3, x], dim=1), mask)
            torch.testing.assert_close(masked, other, atol=1e-5, rtol=1e-5)
        elif side == "end":
            torch.testing.assert_close(masked, short, atol=1e-5, rtol=1e-5)


def test_ewm_weights_recent_bars_and_last_is_its_limit():
    h = torch.arange(6, dtype=torch.float32).view(1, 6, 1).expand(1, 6, 4)  # bar i encodes to i
    ewm = _model("ewm", pool_halflife=1.0).pool(h)
    expected = sum(i * 2.0 ** -(5 - i) for i in range(6)) / sum(2.0 ** -(5 - i) for i in range(6))
    torch.testing.assert_close(ewm, torch.full((1, 4), expected))
    assert float(_model("last").pool(h)[0, 0]) == 5.0 and float(_model("mean").pool(h)[0, 0]) == 2.5
    assert float(_model("ewm", pool_halflife=0.01).pool(h)[0, 0]) == pytest.approx(5.0)


def test_attention_pooling_adds_only_its_score_layer():
    mean, attention = _model("mean"), _model("attention")
    assert attention.encoder_parameters() - mean.encoder_parameters() == TINY.d_model + 1
    full = RegimeVAE(RDEConfig(pooling="attention"))
    assert full.encoder_parameters() == 2_477_072 + 257  # the reference's count plus Linear(256 -> 1)


def test_unknown_pooling_is_refused_by_model_and_config():
    with pytest.raises(ValueError, match="pooling"):
        RegimeVAE(dataclasses.replace(TINY, pooling="max"))
    with pytest.raises(ConfigError, match="pooling"):
        RDETrainConfig.preset("tiny", model={"pooling": "max"})


@pytest.mark.parametrize("pooling", ["last", "ewm", "attention"])
def test_cpu_backends_agree_with_eager(pooling):
    model = _model(pooling, seed=2)
    x = np.random.default_rng(3).standard_normal((4, WINDOW, 155)).astype(np.float32)
    with torch.inference_mode():
        eager = model.regime_vector(torch.from_numpy(x)).numpy()
    fast = fast_regime_vector(model, WINDOW, mode="onednn")  # the default CPU backend (torch+onednn)
    assert fast.max_abs_diff <= 1e-5
    np.testing.assert_allclose(fast(x), eager, atol=1e-5)
    np.testing.assert_allclose(fast(x[:1]), eager[:1], atol=1e-5)
    ort = pytest.importorskip("onnxruntime", reason="optional extra 'onnx' not installed")
    assert ort is not None
    from algospace.engines.onnx_backend import OnnxRuntimeBackend

    onnx = OnnxRuntimeBackend(model, WINDOW)
    np.testing.assert_allclose(onnx(x), eager, atol=1e-5)
    np.testing.assert_allclose(onnx(x[:1]), eager[:1], atol=1e-5)
    # the lower-precision backends (opt-in) keep their own stated tolerances with every pooling
    from algospace.engines.onnx_backend import INT8_ATOL
    from algospace.engines.torch_fast import BF16_ATOL, FastRegimeVector

    bf16 = FastRegimeVector(model, WINDOW, "onednn", precision="bf16")
    np.testing.assert_allclose(bf16(x), eager, atol=BF16_ATOL)
    np.testing.assert_allclose(OnnxRuntimeBackend(model, WINDOW, precision="int8")(x), eager, atol=INT8_ATOL)


def test_aoti_backend_runs_attention_pooling():
    model = _model("attention", seed=4)
    fast = fast_regime_vector(model, WINDOW)  # auto: AOTInductor where a C++ compiler is found (~10 s)
    x = np.random.default_rng(5).standard_normal((1, WINDOW, 155)).astype(np.float32)
    with torch.inference_mode():
        eager = model.regime_vector(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(fast(x), eager, atol=1e-5)  # checked at build too (check_parity)


def _strip_pooling_fields(path) -> None:
    """Rewrite config.json as artifacts written before the pooling fields existed."""
    cfg = json.loads((path / "config.json").read_text())
    del cfg["pooling"], cfg["pool_halflife"]
    (path / "config.json").write_text(json.dumps(cfg))
    resign(path)


def test_artifacts_without_pooling_fields_load_as_mean_pooling_with_the_same_vectors(tmp_path):
    model = _model("mean", seed=6)
    save_artifact(model, tmp_path / "old", kind="rde", provenance="untrained")
    _strip_pooling_fields(tmp_path / "old")
    assert "pooling" not in json.loads((tmp_path / "old" / "config.json").read_text())
    loaded = load_artifact(tmp_path / "old", device="cpu", allow_untrained=True)[0]
    assert loaded.config.pooling == "mean" and loaded.config == model.config
    x = torch.randn(3, WINDOW, 155)
    with torch.inference_mode():
        assert torch.equal(loaded.regime_vector(x), model.regime_vector(x))
    # the reference's mean read-out is the plain mean of the encoder output, bit for bit
    with torch.inference_mode():
        h = model.transformer(model.pos_encoder(model.input_projection(x)))
        assert torch.equal(model.regime_vector(x), model.fc_mu(h.mean(dim=1)))


def test_new_pooling_round_trips_and_a_bad_value_in_config_json_is_refused(tmp_path):
    model = _model("attention", seed=7)
    save_artifact(model, tmp_path / "new", kind="rde", provenance="untrained")
    loaded = load_artifact(tmp_path / "new", device="cpu", allow_untrained=True)[0]
    assert loaded.config.pooling == "attention" and loaded.pool_score is not None
    x = torch.randn(2, WINDOW, 155)
    with torch.inference_mode():
        assert torch.equal(loaded.regime_vector(x), model.regime_vector(x))
    cfg = json.loads((tmp_path / "new" / "config.json").read_text())
    cfg["pooling"] = "median"
    (tmp_path / "new" / "config.json").write_text(json.dumps(cfg))
    resign(tmp_path / "new")
    with pytest.raises(ArtifactError, match="pooling"):
        load_artifact(tmp_path / "new", device="cpu", allow_untrained=True)


def test_contrastive_term_is_lower_for_nearby_than_for_distant_windows():
    rng = np.random.default_rng(0)
    # a toy regime path: 4 regimes with their own centres, vectors wander around them
    centres = rng.standard_normal((4, 8)) * 3
    regime = np.repeat(rng.integers(0, 4, 40), 10)  # 400 bars, runs of 10
    vectors = torch.tensor(centres[regime] + 0.3 * rng.standard_normal((400, 8)), dtype=torch.float32)
    anchors = torch.arange(3, 400, 10)  # a partner 2 bars later stays in the anchor's run
    nearby = temporal_contrastive(vectors[anchors], vectors[anchors + 2])
    distant = temporal_contrastive(vectors[anchors], vectors[(anchors + 200) % 400])
    constant = temporal_contrastive(torch.zeros(len(anchors), 8), torch.zeros(len(anchors), 8))
    assert float(nearby) < float(constant) < float(distant)
    assert float(constant) == pytest.approx(np.log(len(anchors)), rel=1e-5)  # vectors that carry nothing


def test_training_with_the_contrastive_term_changes_the_weights_and_is_reproducible(tiny_rde):
    from algospace.training.rde import fit_rde, prepare_rde_data

    _, bars30 = tiny_rde
    base = RDETrainConfig.preset("tiny", max_epochs=2, kl_anneal_epochs=1, threads=1)
    data = prepare_rde_data(bars30.iloc[-1500:], "SPY", base)
    plain = fit_rde(data, base, progress=False).model
    cfg = RDETrainConfig.preset("tiny", max_epochs=2, kl_anneal_epochs=1, threads=1, contrastive=1.0, contrast_gap=8)
    a, b = (fit_rde(data, cfg, progress=False).model for _ in range(2))
    sa, sb, sp = a.state_dict(), b.state_dict(), plain.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sp[k]) for k in sa)
