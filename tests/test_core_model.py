"""The decision core's network: reference shape, parameter count, batched Monte-Carlo dropout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from algospace.artifacts import load_artifact, save_artifact
from algospace.models.core import CoreConfig, CoreInputs, DecisionCoreModel


def _inputs(batch: int, seed: int = 0) -> CoreInputs:
    g = torch.Generator().manual_seed(seed)
    c = CoreConfig()
    return CoreInputs(
        torch.randn(batch, c.m30_window, c.m30_features, generator=g),
        torch.randn(batch, c.m5_window, c.m5_features, generator=g),
        torch.randn(batch, c.regime_dim, generator=g),
        torch.randn(batch, c.lvn_dim, generator=g),
        torch.randn(batch, c.synergy_dim, generator=g),
    )


def test_parameter_count_is_pinned_and_near_the_reference_figure() -> None:
    model = DecisionCoreModel(CoreConfig())
    table = model.parameter_table()
    total = sum(p.numel() for p in model.parameters())
    assert sum(table.values()) == total == 17_508
    assert abs(total - 17_600) / 17_600 < 0.01  # the reference's "17.6K"
    assert table["m30_embedder"] > 0 and table["m5_embedder"] > 0 and table["gate"] > 0


def test_embedding_widths_follow_the_reference() -> None:
    model = DecisionCoreModel(CoreConfig()).eval()
    x = _inputs(3)
    with torch.no_grad():
        assert model.m30_embedder(x.m30).shape == (3, 64)
        assert model.m5_embedder(x.m5).shape == (3, 48)
        assert model.regime_embedder(x.regime).shape == (3, 16)
        assert model.lvn_embedder(x.lvn).shape == (3, 8)


def test_mc_passes_run_as_one_batched_forward() -> None:
    """50 passes are a batch dimension: the policy head runs once, on a (50, B, D) tensor."""
    model = DecisionCoreModel(CoreConfig()).eval()
    calls: list[tuple[int, ...]] = []
    hooks = [
        model.policy.register_forward_hook(lambda m, args, out: calls.append(tuple(args[0].shape))),
        model.m5_embedder.register_forward_hook(lambda m, args, out: calls.append(("m5",))),
    ]
    with torch.no_grad():
        out = model(_inputs(4), passes=50)
    for h in hooks:
        h.remove()
    assert calls == [("m5",), (50, 4, CoreConfig().state_dim)]
    assert out.initiate_prob.shape == (4,) and out.initiate_std.shape == (4,)
    assert bool((out.initiate_std > 0).all())  # the passes really differ
    assert bool(((out.initiate_prob > 0) & (out.initiate_prob < 1)).all())


def test_without_passes_the_eval_model_is_deterministic() -> None:
    model = DecisionCoreModel(CoreConfig()).eval()
    x = _inputs(2)
    with torch.no_grad():
        a, b = model(x), model(x)
    assert torch.equal(a.initiate_prob, b.initiate_prob)
    assert torch.equal(a.initiate_std, torch.zeros(2))


def test_mc_mean_approaches_the_deterministic_probability() -> None:
    """With many passes the MC mean stays close to the no-dropout answer (small dropout)."""
    torch.manual_seed(0)
    model = DecisionCoreModel(CoreConfig()).eval()
    x = _inputs(8, seed=1)
    with torch.no_grad():
        det = model(x).initiate_prob
        mc = model(x, passes=2000).initiate_prob
    assert torch.allclose(det, mc, atol=0.05)


def test_inputs_are_read() -> None:
    """Every input moves the output: no embedder is dead."""
    model = DecisionCoreModel(CoreConfig()).eval()
    x = _inputs(2)
    with torch.no_grad():
        base = model(x).state
        for i in range(len(x)):
            changed = list(x)
            changed[i] = changed[i] + 1.0
            assert not torch.allclose(model(CoreInputs(*changed)).state, base), f"input {x._fields[i]} ignored"


def test_gate_reads_the_risk_vector() -> None:
    model = DecisionCoreModel(CoreConfig()).eval()
    with torch.no_grad():
        state = model(_inputs(2)).state
        a = model.gate_logit(state, torch.zeros(2, 8))
        b = model.gate_logit(state, torch.ones(2, 8))
    assert a.shape == (2,) and not torch.allclose(a, b)


def test_artifact_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DecisionCoreModel(CoreConfig()).eval()
    save_artifact(model, tmp_path / "core", kind="core", provenance="trained")
    loaded, manifest = load_artifact(tmp_path / "core", device="cpu", kind="core")
    assert manifest.kind == "core" and loaded.config == CoreConfig()
    x = _inputs(3)
    with torch.no_grad():
        assert torch.equal(model(x).initiate_prob, loaded(x).initiate_prob)


def test_bad_config_is_refused(tmp_path: Path) -> None:
    import json

    from algospace.errors import ArtifactError

    model = DecisionCoreModel(CoreConfig()).eval()
    save_artifact(model, tmp_path / "core", kind="core", provenance="trained")
    cfg_path = tmp_path / "core" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["dropout"] = 1.5
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ArtifactError):
        load_artifact(tmp_path / "core", device="cpu", kind="core")


def test_engine_decides_with_a_private_rng_and_refuses_bad_input(tmp_path: Path) -> None:
    from algospace.engines.core import DecisionCore
    from algospace.errors import InputError

    torch.manual_seed(0)
    save_artifact(DecisionCoreModel(CoreConfig()).eval(), tmp_path / "core", kind="core", provenance="trained")
    x = [t[0].numpy() for t in _inputs(1)]
    a = DecisionCore.load(tmp_path / "core", device="cpu")
    b = DecisionCore.load(tmp_path / "core", device="cpu")
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    da = a.decide(*x)
    assert torch.equal(torch.rand(1), before)  # the caller's global RNG is untouched
    assert da == b.decide(*x)  # same seed, same masks: a backtest repeats exactly
    assert da.passes == 50 and 0 < da.confidence < 1 and da.uncertainty > 0
    assert da.initiate == (da.confidence >= 0.65)
    p = a.gate(np.zeros(8))
    assert 0 < p < 1
    bad = list(x)
    bad[2] = np.full(8, np.nan)
    with pytest.raises(InputError, match="regime holds NaN"):
        a.decide(*bad)
    bad[2] = np.zeros(7)
    with pytest.raises(InputError, match=r"regime must have shape \(8,\)"):
        a.decide(*bad)
    with pytest.raises(InputError, match="risk must have shape"):
        a.gate(np.zeros(3))
    with pytest.raises(InputError, match="decide"):
        DecisionCore.load(tmp_path / "core", device="cpu").gate(np.zeros(8))
