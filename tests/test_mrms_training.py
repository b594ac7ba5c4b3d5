"""M-RMS training on real SPY signals (as the ES proxy): split, determinism, resume, artifact, engine."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from algospace.engines.mrms import RiskManager
from algospace.training.mrms import checkpoint_path, fit_mrms, prepare_mrms_data, train_mrms
from algospace.training.mrms_config import MRMSTrainConfig


@pytest.fixture(scope="module")
def cfg():
    return MRMSTrainConfig.preset("tiny", threads=1, max_iterations=4, eval_every=2, max_minutes=5.0)


@pytest.fixture(scope="module")
def data(cfg):
    from algospace.data import sample

    bars = sample("spy-1m")
    return prepare_mrms_data(bars.loc[bars.index < "2017-09-01"], cfg)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data, cfg):
    out = tmp_path_factory.mktemp("mrms") / "mrms"
    return out, train_mrms(data, out, cfg, progress=False)


def test_split_is_chronological_and_no_trade_crosses_a_boundary(data):
    p, rows = data.paths, data.rows
    assert all(len(rows[s]) > 10 for s in ("train", "val", "test"))
    trade_end = lambda r: p.bar_close_ns[p.entry_index[r] + p.length[r] - 1]  # noqa: E731
    starts = {s: p.entry_time_ns[rows[s]].min() for s in rows}
    assert trade_end(rows["train"]).max() <= starts["val"]
    assert trade_end(rows["val"]).max() <= starts["test"]
    assert data.boundaries["val"].value <= starts["val"] and data.boundaries["test"].value <= starts["test"]
    for s in rows:
        assert np.all(np.diff(p.entry_time_ns[rows[s]]) >= 0)
    assert "x10" in data.proxy


def test_artifact_is_trained_with_split_and_metrics(trained, data):
    out, result = trained
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "mrms" and manifest["provenance"] == "trained"
    assert manifest["parameter_count"] == 28_745
    assert "test.sortino_daily" in manifest["training_metrics"] or "test.net_pnl" in manifest["training_metrics"]
    training = json.loads((out / "training.json").read_text())
    assert training["split"]["train"]["signals"] == len(data.rows["train"])
    assert training["proxy"] == data.proxy and len(training["policy_log_std"]) == 2
    assert not checkpoint_path(out).exists()
    rm = RiskManager.load(out, device="cpu")
    x = np.random.default_rng(0).normal(size=(8, 40)).astype(np.float32)
    with torch.no_grad():
        ref = result.model(torch.from_numpy(x[:, :30]), torch.from_numpy(x[:, 30:]))
    np.testing.assert_allclose(rm.network(x)[0], ref.position_logits.numpy(), atol=1e-5)
    for split in ("train", "val", "test"):
        assert result.metrics[split]["rule_breaches"] >= 0 and "x10" in result.metrics[split]["proxy"]


def test_same_seed_same_weights_and_resume_equals_uninterrupted(tmp_path, data, cfg, caplog):
    a = fit_mrms(data, cfg, progress=False)
    b = fit_mrms(data, cfg, progress=False)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    other = fit_mrms(data, cfg.model_copy(update={"seed": 1}), progress=False)
    assert any(not torch.equal(v, other.model.state_dict()[k]) for k, v in a.model.state_dict().items())
    # stop after 2 iterations (checkpoint kept), then resume to 4: the same weights as one run
    ckpt = tmp_path / ".mrms.ckpt.pt"
    fit_mrms(data, cfg.model_copy(update={"max_iterations": 2}), checkpoint=ckpt, progress=False)
    assert ckpt.exists()
    with caplog.at_level("INFO", logger="algospace.training.mrms"):
        resumed = fit_mrms(data, cfg, checkpoint=ckpt, progress=False)
    assert "resuming M-RMS training at iteration 2" in caplog.text
    assert resumed.history[0]["iteration"] == 1 and len(resumed.history) == len(a.history)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_training_observations_come_from_the_one_vector_builders(data, cfg):
    """What the policy reads in training = synergy_vector(event) | account_vector(state), the
    functions the engine's callers use at inference."""
    from algospace.features import synergy_vector
    from algospace.sim import account_vector
    from algospace.training.mrms import Episodes

    envs = Episodes(data, data.rows["train"], cfg, np.random.default_rng(0))
    obs = envs.observations()
    for i, replay in enumerate(envs.replays):
        row = replay.current
        want = np.concatenate([synergy_vector(data.signals.events[row]), account_vector(replay.account.state())])
        np.testing.assert_array_equal(obs[i], want.astype(np.float32))


def test_refit_on_validation_retrains_for_the_best_iteration_count(data, cfg):
    plain = fit_mrms(data, cfg, progress=False)
    rcfg = cfg.model_copy(update={"refit_on_validation": True})
    a = fit_mrms(data, rcfg, progress=False)
    b = fit_mrms(data, rcfg, progress=False)
    best_it = next(r["iteration"] for r in plain.history if r.get("val_score") == plain.metrics["best_val_score"])
    assert a.metrics["refit"] == {"iterations": best_it, "signals": len(data.rows["train"]) + len(data.rows["val"])}
    assert any("in sample" in n for n in a.metrics["notes"])
    assert [r["val_score"] for r in a.history if "val_score" in r] == [r["val_score"] for r in plain.history if "val_score" in r]
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k  # the refit is seeded too
    assert any(not torch.equal(v, plain.model.state_dict()[k]) for k, v in a.model.state_dict().items())
