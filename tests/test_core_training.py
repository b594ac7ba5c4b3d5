"""Decision-core training and evaluation on a slice of the SPY sample (tiny configs, seconds).

The M-RMS here is saved with provenance "untrained" (random weights, loaded with
allow_untrained=True): these tests check the plumbing (labels, split, determinism, artifact,
eval rows), not whether its proposals are any good.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def setup(tiny_rde, tmp_path_factory):
    from algospace.artifacts import save_artifact
    from algospace.data import sample
    from algospace.engines.mrms import RiskManager
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.models.mrms import MRMSConfig, MRMSModel
    from algospace.training.core_data import prepare_core_data

    root = tmp_path_factory.mktemp("core-models")
    torch.manual_seed(0)
    save_artifact(MRMSModel(MRMSConfig()), root / "mrms", kind="mrms", provenance="untrained")
    rde = RegimeDetectionEngine.load(tiny_rde[0], device="cpu")
    rm = RiskManager.load(root / "mrms", device="cpu", allow_untrained=True)
    bars = sample("spy-1m")
    bars = bars.loc[(bars.index >= "2017-02-01") & (bars.index < "2017-05-01")]
    data = prepare_core_data(bars, rde, rm)
    return {"root": root, "rde": rde, "rm": rm, "bars": bars, "data": data, "rde_path": tiny_rde[0]}


def _cfg(**kw):
    from algospace.training.core_config import CoreTrainConfig

    return CoreTrainConfig.preset("tiny", threads=1, **kw)


def test_same_seed_same_weights_and_another_seed_differs(setup):
    from algospace.training.core import fit_core

    a = fit_core(setup["data"], _cfg(), progress=False).model.state_dict()
    b = fit_core(setup["data"], _cfg(), progress=False).model.state_dict()
    c = fit_core(setup["data"], _cfg(seed=1), progress=False).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_split_is_chronological_by_day_and_no_trade_crosses_a_boundary(setup):
    from algospace.sim import simulate_ticks

    d = setup["data"]
    days = d.paths.day[d.rows]
    assert (np.diff(d.split) >= 0).all()  # rows are in time order, splits follow each other
    assert set(np.unique(d.split)) == {0, 1, 2}
    for a, b in ((0, 1), (1, 2)):
        assert days[d.split == a].max() < days[d.split == b].min()  # whole days
        pa = d.proposals
        rows_a = np.flatnonzero(d.split == a)
        out = simulate_ticks(d.paths, d.rows[rows_a], np.maximum(pa.position_size[rows_a], 1), pa.stop_ticks[rows_a],
                             pa.target_ticks[rows_a])
        assert out.exit_time_ns.max() <= d.paths.entry_time_ns[d.rows[d.split == b]].min()


def test_labels_equal_a_hand_run_of_the_simulator(setup):
    from algospace.sim import PropFirmAccount, simulate

    d, rm = setup["data"], setup["rm"]
    sigs = d.signals
    for pos in (0, len(d.r) // 2, len(d.r) - 1):
        i = int(d.rows[pos])
        p = rm.generate_risk_proposal({
            "synergy_vector": sigs.vectors[i], "account": PropFirmAccount(rm.account_config),
            "entry_price": float(sigs.close[i]), "direction": "LONG" if sigs.directions[i] > 0 else "SHORT",
            "atr": float(sigs.atr[i]), "instrument": "ES",
        })
        out = simulate(d.paths, i, max(p.position_size, 1), p.sl_atr_multiplier, p.risk_reward_ratio)
        assert int(out.stop_ticks[0]) == p.stop_ticks and int(out.target_ticks[0]) == p.target_ticks
        assert d.r[pos] == pytest.approx(float(out.r_multiple[0]), abs=1e-12)
        assert d.r[pos] == pytest.approx(float(out.net_usd[0] / out.risk_usd[0]))


def test_artifact_round_trip_with_provenance_trained(setup, tmp_path):
    from algospace.engines.core import DecisionCore
    from algospace.training.core import train_core

    out = tmp_path / "core"
    res = train_core(setup["bars"], setup["rde"], setup["rm"], out, _cfg(), progress=False,
                     rde_path=setup["rde_path"], mrms_path=setup["root"] / "mrms")
    core = DecisionCore.load(out, device="cpu", feature_spec_fingerprint=setup["rde"].feature_spec.fingerprint)
    assert core.manifest.provenance == "trained"
    assert core.manifest.feature_spec_fingerprint == setup["rde"].feature_spec.fingerprint
    sd = res.model.state_dict()
    assert all(torch.equal(v, sd[k]) for k, v in core.model.state_dict().items())
    training = json.loads((out / "training.json").read_text())
    assert training["rde"]["provenance"] == "trained" and training["mrms"]["provenance"] == "untrained"
    assert training["initiate_threshold"] == res.threshold
    assert set(training["split_boundaries"]) == {"val", "test"}
    d = res.data
    x = {k: v[0] for k, v in d.inputs.items()}
    decision = core.decide(**x)
    assert 0.0 <= decision.confidence <= 1.0 and 0.0 <= core.gate(d.risk[0]) <= 1.0


def test_eval_produces_every_row(setup, tmp_path):
    from algospace.evaluation.core_eval import STRATEGIES, evaluate_core
    from algospace.training.core import fit_core

    d = setup["data"]
    res = fit_core(d, _cfg(), progress=False)
    training = {"train_config": _cfg().model_dump(), "split_boundaries": d.boundaries, "initiate_threshold": res.threshold}
    report = evaluate_core(d, setup["rm"], res.model, training, n_boot=50, out=tmp_path)
    assert list(report["metrics"]) == list(STRATEGIES)
    for m in report["metrics"].values():
        assert {"expectancy_r", "sortino_daily", "calmar", "rule_breaches", "taken_share"} <= set(m)
        assert m["signals_decided"] > 0
    assert report["metrics"]["a_every_signal"]["taken_share"] == 1.0
    assert set(report["intervals_90"]) == {f"{c}_minus_{b}.{s}" for c in "de" for b in "ab" for s in ("sortino_daily", "mean_daily_pnl")}
    assert list(report["fresh_account"]["rows"]) == list(STRATEGIES)
    assert report["fresh_account"]["rows"]["a_every_signal"]["signals_taken"] == len(d.part("test"))
    assert 0.0 <= report["calibration"]["d_trained_core"]["ece"] <= 1.0
    assert {p.name for p in tmp_path.iterdir()} >= {"results.json", "table.md", "reliability.png"}


def test_eval_refuses_data_split_differently(setup):
    from algospace.errors import ArtifactError
    from algospace.evaluation.core_eval import evaluate_core
    from algospace.models.core import CoreConfig, DecisionCoreModel

    training = {"train_config": {}, "split_boundaries": {"val": "2017-01-01", "test": "2017-01-02"}, "initiate_threshold": 0.5}
    with pytest.raises(ArtifactError, match="trained with"):
        evaluate_core(setup["data"], setup["rm"], DecisionCoreModel(CoreConfig()), training, n_boot=10)


def test_train_core_cli_refuses_a_models_dir_without_mrms(tmp_path, tiny_rde):
    import shutil

    from typer.testing import CliRunner

    from algospace.cli import app

    shutil.copytree(tiny_rde[0], tmp_path / "rde")
    r = CliRunner().invoke(app, ["train", "core", "--models", str(tmp_path), "--preset", "tiny"])
    assert r.exit_code != 0
    assert "mrms/" in (r.output + str(r.exception))


def test_interrupted_training_resumes_to_the_uninterrupted_weights(setup, tmp_path, caplog):
    """Cut by the time budget (after epoch 1) or by --max-epochs (after 2), then resumed from the
    checkpoint: the same history and bit-identical weights as one uninterrupted run."""
    from algospace.training.core import fit_core

    whole = fit_core(setup["data"], _cfg(patience=5), progress=False)
    assert len(whole.history) == 3
    for cut, first_epochs in (({"max_minutes": 1e-6}, 1), ({"max_epochs": 2}, 2)):
        ckpt = tmp_path / f".core-{first_epochs}.ckpt.pt"
        part = fit_core(setup["data"], _cfg(patience=5, **cut), checkpoint=ckpt, progress=False)
        assert ckpt.exists() and len(part.history) == first_epochs
        if "max_minutes" in cut:
            assert part.metrics["stop_reason"] == "time_budget"
        caplog.clear()
        with caplog.at_level("INFO", logger="algospace.training.core"):
            resumed = fit_core(setup["data"], _cfg(patience=5), checkpoint=ckpt, progress=False)
        assert f"resuming decision-core training at epoch {first_epochs}" in caplog.text
        assert resumed.history == whole.history
        for k, v in whole.model.state_dict().items():
            assert torch.equal(v, resumed.model.state_dict()[k]), k
        assert resumed.threshold == whole.threshold
