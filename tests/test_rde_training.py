"""RDE training on real SPY features, the artifact it writes, and the engine that loads it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from algospace.errors import InputError
from algospace.features.causality import assert_causal
from algospace.training.rde import checkpoint_path, fit_rde, prepare_rde_data, train_rde
from algospace.training.rde_config import RDETrainConfig


@pytest.fixture(scope="module")
def bars30():
    from algospace.data import make_bars, sample

    bars = sample("spy-1m")
    bars = bars.loc[(bars.index >= "2017-01-01") & (bars.index < "2017-08-01")]
    return make_bars(bars, 30, "SPY")


@pytest.fixture(scope="module")
def cfg():
    return RDETrainConfig.preset("tiny", max_epochs=3, threads=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, bars30, cfg):
    out = tmp_path_factory.mktemp("rde") / "rde"
    result = train_rde(bars30, out, cfg, instrument="SPY", progress=False)
    return out, result


def test_artifact_is_trained_and_records_its_data(trained, bars30):
    out, result = trained
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "rde"
    assert manifest["provenance"] == "trained"
    assert manifest["feature_spec_fingerprint"] == result.data.spec.fingerprint
    text = json.dumps(manifest)
    assert result.data.data_fingerprint in text
    start = pd.Timestamp(manifest["training_data"]["start"])
    assert start == bars30.index[0]
    training = json.loads((out / "training.json").read_text())
    assert training["window"] == result.data.windows["train"].shape[1]
    assert not checkpoint_path(out).exists(), "a finished run removes its checkpoint"
    for split in ("train", "val", "test"):
        assert np.isfinite(result.metrics[split]["recon"])


def test_spec_is_fitted_on_the_training_part_only(trained, bars30):
    from algospace.features import FeatureSpec

    _, result = trained
    val_start = result.data.boundaries["val"]
    refit = FeatureSpec.default().fit(bars30.loc[bars30.index < val_start])
    assert refit.fingerprint == result.data.spec.fingerprint
    with_val = FeatureSpec.default().fit(bars30.loc[bars30.index < result.data.boundaries["test"]])
    assert with_val.fingerprint != result.data.spec.fingerprint


def test_no_window_straddles_a_split(trained, cfg):
    _, result = trained
    data = result.data
    feats_idx = data.features.index
    edges = [feats_idx.min(), data.boundaries["val"], data.boundaries["test"], feats_idx.max() + pd.Timedelta(1, "s")]
    for k, split in enumerate(("train", "val", "test")):
        ends = data.window_ends[split]
        starts = feats_idx[feats_idx.get_indexer(ends) - (cfg.window - 1)]
        assert (starts >= edges[k]).all() and (ends < edges[k + 1]).all()


def test_same_seed_same_weights_and_resume_equals_uninterrupted(tmp_path, bars30, cfg):
    data = prepare_rde_data(bars30, "SPY", cfg)
    a = fit_rde(data, cfg, progress=False)
    b = fit_rde(data, cfg, progress=False)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k
    # Interrupt after the first epoch (a budget of ~0 minutes), then resume under a normal budget.
    ckpt = tmp_path / "ckpt.pt"
    first = fit_rde(data, cfg.model_copy(update={"max_minutes": 1e-9}), checkpoint=ckpt, progress=False)
    assert first.metrics["stop_reason"] == "time_budget" and ckpt.exists()
    resumed = fit_rde(data, cfg, checkpoint=ckpt, progress=False)
    assert resumed.metrics["epochs"] == a.metrics["epochs"]
    for (k, va), vb in zip(a.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(va, vb), k


@pytest.fixture(scope="module")
def engine(trained):
    from algospace.engines.rde import RegimeDetectionEngine

    out, _ = trained
    return RegimeDetectionEngine.load(out, device="cpu")


def test_engine_returns_float32_regime_vectors(engine, trained):
    _, result = trained
    w = result.data.windows["test"][0]
    v = engine.get_regime_vector(w)
    assert v.shape == (8,) and v.dtype == np.float32
    batch = engine.get_regime_vectors(result.data.windows["test"][:5])
    assert batch.shape == (5, 8)
    np.testing.assert_allclose(batch[0], v, atol=1e-5)
    assert engine.feature_spec.fingerprint == result.data.spec.fingerprint


@pytest.mark.parametrize(
    "bad, needle",
    [
        (np.zeros((12, 7), np.float32), "features"),
        (np.zeros((3, 12, 7), np.float32), "rank 2"),
        (np.zeros((5, 0), np.float32), "features"),
        ("not an array", "numpy array"),
        (torch.zeros(12, 8), "torch.Tensor"),
        (np.array([["a"] * 8] * 12), "real numbers"),
    ],
)
def test_engine_rejects_bad_windows(engine, bad, needle):
    with pytest.raises(InputError, match=needle):
        engine.get_regime_vector(bad)


def test_engine_rejects_nan_and_out_of_range_window(engine):
    width = engine.feature_spec.width
    w = np.zeros((12, width), np.float32)
    w[3, 4] = np.nan
    with pytest.raises(InputError, match="NaN"):
        engine.get_regime_vector(w)
    with pytest.raises(InputError, match="must be an int in"):
        engine.get_regime_vector(np.zeros((11, width), np.float32))
    with pytest.raises(InputError, match="must be an int in"):
        engine.get_regime_vector(np.zeros((97, width), np.float32))
    with pytest.raises(InputError, match="rank 3"):
        engine.get_regime_vectors(np.zeros((12, width), np.float32))


def test_regime_series_is_causal_and_matches_single_windows(engine, bars30, cfg):
    tail = bars30.iloc[-400:]
    series = engine.regime_series(tail)
    feats = engine.features(tail)
    t = cfg.window
    for pos in (t - 1, len(feats) // 2, len(feats) - 1):
        window = feats.to_numpy(np.float32)[pos - t + 1 : pos + 1]
        np.testing.assert_allclose(engine.get_regime_vector(window), series.loc[feats.index[pos]].to_numpy(), atol=1e-5)
    assert_causal(lambda b: engine.regime_series(b), tail, cuts=[200, 300], atol=0.0)


def test_regime_series_refuses_features_built_under_another_spec(engine, bars30):
    from algospace.features import FeatureSpec

    other = FeatureSpec.default().fit(bars30.iloc[:400])
    assert other.fingerprint != engine.feature_spec.fingerprint
    with pytest.raises(InputError, match="feature spec"):
        engine.regime_series(other.transform(bars30.iloc[-200:]))
    own = engine.features(bars30.iloc[-200:])
    assert own.attrs["feature_spec_fingerprint"] == engine.feature_spec.fingerprint
    assert len(engine.regime_series(own)) == len(own) - engine.window + 1


def test_engine_load_refuses_a_caller_spec_it_was_not_trained_on(trained):
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.errors import ArtifactError

    out, _ = trained
    with pytest.raises(ArtifactError, match="(?i)spec"):
        RegimeDetectionEngine.load(out, device="cpu", feature_spec_fingerprint="0" * 64)
    flagged = RegimeDetectionEngine.load(out, device="cpu", feature_spec_fingerprint="0" * 64, allow_spec_mismatch=True)
    assert flagged.manifest.warnings


def test_engine_rejects_overflow_odd_dtypes_and_bad_batch_size(engine):
    width = engine.feature_spec.width
    big = np.zeros((12, width), np.float64)
    big[0, 0] = 1e39  # finite in float64, inf in float32
    with pytest.raises(InputError, match="float32"):
        engine.get_regime_vector(big)
    for bad in (np.zeros((12, width), bool), np.zeros((12, width), "m8[s]"), np.ma.zeros((12, width))):
        with pytest.raises(InputError):
            engine.get_regime_vector(bad)
    ok = np.zeros((2, 12, width))
    for bs in (0, -1, 1.5):
        with pytest.raises(InputError, match="batch_size"):
            engine.get_regime_vectors(ok, batch_size=bs)
    # float64, Fortran-ordered and strided inputs are fine and equal to the float32 result
    w = np.asfortranarray(np.random.default_rng(0).standard_normal((24, width)))
    np.testing.assert_allclose(engine.get_regime_vector(w), engine.get_regime_vector(w.astype(np.float32)), atol=1e-6)
    strided = np.random.default_rng(1).standard_normal((24, 2 * width))[:, ::2]
    np.testing.assert_allclose(engine.get_regime_vector(strided), engine.get_regime_vector(strided.copy()), atol=1e-6)


def test_regime_series_validates_window_and_features(engine, bars30):
    feats = engine.features(bars30.iloc[-200:])
    for bad in (5, 100, 0, -3, 600):
        with pytest.raises(InputError, match="window"):
            engine.regime_series(feats, window=bad)
    with pytest.raises(InputError, match="batch_size"):
        engine.regime_series(feats, batch_size=0)
    holed = feats.copy()
    holed.iloc[50, 3] = np.nan
    with pytest.raises(InputError, match="not finite"):
        engine.regime_series(holed)
    with pytest.raises(InputError, match="increasing"):
        engine.regime_series(feats.iloc[::-1])
    bare = pd.DataFrame(feats.to_numpy(), index=feats.index, columns=feats.columns)  # no spec fingerprint
    with pytest.raises(InputError, match="feature spec"):
        engine.regime_series(bare)


def test_run_stopped_during_annealing_keeps_trained_not_initial_weights(bars30, cfg):
    from algospace.models.rde import RegimeVAE
    from algospace.training.rde import model_config

    c = cfg.model_copy(update={"max_epochs": 3, "kl_anneal_epochs": 3, "max_minutes": 1e-9})
    data = prepare_rde_data(bars30, "SPY", c)
    res = fit_rde(data, c, progress=False)
    assert res.metrics["stop_reason"] == "time_budget" and res.metrics["epochs"] == 1
    assert "notes" in res.metrics
    torch.manual_seed(c.seed)
    init = RegimeVAE(model_config(c, data.features.shape[1]))
    changed = [not torch.equal(a, b) for a, b in zip(init.state_dict().values(), res.model.state_dict().values())]
    assert any(changed), "the returned model is the untrained initialisation"


@pytest.mark.parametrize("content", [b"garbage bytes", b""])
def test_damaged_checkpoint_is_ignored_not_fatal(tmp_path, bars30, cfg, content):
    data = prepare_rde_data(bars30, "SPY", cfg)
    ckpt = tmp_path / "ckpt.pt"
    ckpt.write_bytes(content)
    scratch = fit_rde(data, cfg, checkpoint=None, progress=False)
    res = fit_rde(data, cfg, checkpoint=ckpt, progress=False)
    _same_run(res, scratch)  # started from scratch: same history, bit-identical weights
    torch.save({"not": "a checkpoint"}, ckpt)  # readable, but not an RDE training checkpoint
    _same_run(fit_rde(data, cfg, checkpoint=ckpt, progress=False), scratch)


def _same_run(a, b) -> None:
    assert a.history[0]["epoch"] == 1 and a.history == b.history
    assert a.metrics["epochs"] == b.metrics["epochs"] and a.metrics["stop_reason"] == b.metrics["stop_reason"]
    for (name, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(x, y), name


def test_bad_training_settings_are_config_errors():
    from algospace.errors import ConfigError

    with pytest.raises(ConfigError, match="max_minutes"):
        RDETrainConfig.preset("default", max_minutes=-1)
    with pytest.raises(ConfigError, match="window"):
        RDETrainConfig.preset("tiny", window=5)
    with pytest.raises(ConfigError, match="kl_anneal_epochs"):
        RDETrainConfig.preset("default", max_epochs=2, kl_anneal_epochs=4)


def test_next_target_summarises_the_following_bars_inside_the_same_split(bars30):
    cfg = RDETrainConfig.preset("tiny", target="next", horizon=4, threads=1)
    data = prepare_rde_data(bars30, "SPY", cfg)
    feats = data.features.to_numpy(np.float32)
    pos = {t: i for i, t in enumerate(data.features.index)}
    bounds = [data.boundaries["val"], data.boundaries["test"]]
    for name in ("train", "val", "test"):
        windows, targets, ends = data.windows[name], data.targets[name], data.window_ends[name]
        assert targets.shape == (len(windows), 2 * feats.shape[1]) and len(windows) > 0
        for k in (0, len(ends) // 2, len(ends) - 1):
            e = pos[ends[k]]
            future = feats[e + 1 : e + 5]
            np.testing.assert_allclose(targets[k], np.concatenate([future.mean(0), future.std(0)]), rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(windows[k], feats[e - cfg.window + 1 : e + 1])  # the input stays causal
            # the target's bars lie in the window's own split
            last = data.features.index[e + 4]
            assert sum(last >= b for b in bounds) == sum(ends[k] >= b for b in bounds)
    plain = prepare_rde_data(bars30, "SPY", cfg.model_copy(update={"target": "window", "horizon": None}))
    assert plain.targets is None and len(plain.windows["val"]) > len(data.windows["val"])  # windows near a boundary dropped
    res = fit_rde(data, cfg, progress=False)
    assert np.isfinite(res.metrics["test"]["recon"]) and res.metrics["test"]["blind_recon"] > 0


def test_horizon_without_next_target_is_a_config_error():
    from algospace.errors import ConfigError

    with pytest.raises(ConfigError, match="horizon"):
        RDETrainConfig.preset("tiny", target="window", horizon=6)
    assert RDETrainConfig.preset("default", target="next").target_horizon == 24
    assert RDETrainConfig.preset("default").target_horizon == 24  # 'next' is the default since issue 14
    assert RDETrainConfig.preset("default", target="window").target_horizon == 0
