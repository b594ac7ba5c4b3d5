"""The runtime with the three models: the full chain (signal -> core -> M-RMS proposal -> gate ->
fill -> close -> account), causal decisions, and the models directory's refusals.

The chain tests run real engines: the tiny trained RDE of conftest and an M-RMS and a core with
seeded random weights (the chain, not the models' skill, is under test; threshold 0 so the core
lets signals through to the M-RMS and the gate)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from algospace.artifacts import save_artifact
from algospace.data import get_instrument, sample
from algospace.engines.core import DecisionCore
from algospace.engines.mrms import RiskManager
from algospace.engines.rde import RegimeDetectionEngine
from algospace.errors import ArtifactError, InputError
from algospace.models.core import CoreConfig, DecisionCoreModel
from algospace.models.mrms import MRMSConfig, MRMSModel
from algospace.runtime.deciders import ModelDecider
from algospace.runtime.events import AccountUpdated, DecisionMade, OrderFilled, OrderPlaced, SignalDetected, TradeClosed
from algospace.runtime.models import ModelSet
from algospace.runtime.runner import Runtime
from algospace.runtime.sources import ReplaySource

SPY = get_instrument("SPY")


@pytest.fixture(scope="module")
def models(tiny_rde) -> ModelSet:  # noqa: ANN001
    torch.manual_seed(0)
    rde = RegimeDetectionEngine.load(tiny_rde[0], device="cpu")
    mrms = RiskManager(MRMSModel(MRMSConfig()).eval())
    net = DecisionCoreModel(CoreConfig()).eval()
    with torch.no_grad():
        net.gate.net[-1].bias.fill_(0.5)  # random gates sit near p = 0.5: lean them open so trades happen
    core = DecisionCore(net, None, torch.device("cpu"), threshold=0.0)
    return ModelSet(rde, mrms, core, Path("."))


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    one = sample("spy-1m")
    return one[(one.index >= "2017-03-01") & (one.index < "2017-05-01")]


def _run(models: ModelSet, bars: pd.DataFrame) -> Runtime:
    rt = Runtime(SPY, lambda bus, inst: ModelDecider(bus, models, inst))
    rt.bus.record = True
    rt.run(ReplaySource(bars), end_of_data=True)
    return rt


@pytest.fixture(scope="module")
def run(models: ModelSet, bars: pd.DataFrame) -> Runtime:
    return _run(models, bars)


def test_the_chain_signal_decision_proposal_fill_close_account(run: Runtime) -> None:
    ev = run.bus.recorded
    executed = [e for e in ev if isinstance(e, DecisionMade) and e.execute]
    assert executed, "some signals pass core, M-RMS and gate"
    d = executed[0]
    assert d.proposal is not None and d.proposal["position_size"] > 0 and d.gate_p is not None and d.gate_p > 0.5
    i = ev.index(d)
    assert isinstance(ev[i - 1], SignalDetected) or any(isinstance(e, SignalDetected) for e in ev[i - 3 : i])
    order = next(e for e in ev[i:] if isinstance(e, OrderPlaced))
    assert order.size == d.proposal["position_size"] and order.stop_ticks == d.proposal["stop_ticks"]
    rest = [e for e in ev[ev.index(order):] if getattr(e, "order_id", order.order_id) == order.order_id]
    kinds = [type(e).__name__ for e in rest if isinstance(e, (OrderPlaced, OrderFilled, TradeClosed, AccountUpdated))]
    assert kinds[:2] == ["OrderPlaced", "OrderFilled"]
    k = kinds.index("TradeClosed")
    assert kinds[k + 1] == "AccountUpdated"
    closed = next(e for e in rest if isinstance(e, TradeClosed))
    upd = next(e for e in rest if isinstance(e, AccountUpdated))
    assert upd.balance == pytest.approx(run.config.account.starting_balance + closed.net_usd) or len(run.recorder.trades) > 1
    assert isinstance(next(e for e in rest if isinstance(e, OrderFilled)), OrderFilled)


def test_core_rejections_and_gate_refusals_are_logged_with_reasons(run: Runtime) -> None:
    reasons = {e.reason.split(":")[0] for e in run.bus.recorded if isinstance(e, DecisionMade)}
    assert "core, M-RMS and gate agree" in reasons
    assert reasons & {"gate", "M-RMS", "skipped", "warm-up"}


def test_model_decisions_are_causal(models: ModelSet, bars: pd.DataFrame, run: Runtime) -> None:
    cut = bars.index[len(bars) * 5 // 6]
    changed = bars.copy()
    later = changed.index > cut
    for c in ("open", "high", "low", "close"):
        changed.loc[later, c] *= 1.07
    fresh = ModelSet(models.rde, models.mrms, DecisionCore(models.core.model, None, torch.device("cpu"), threshold=0.0),
                     Path("."))
    again = ModelSet(models.rde, models.mrms, DecisionCore(models.core.model, None, torch.device("cpu"), threshold=0.0),
                     Path("."))
    a = [e.to_dict() for e in _run(fresh, bars).bus.recorded if isinstance(e, DecisionMade) and e.time <= cut]
    b = [e.to_dict() for e in _run(again, changed).bus.recorded if isinstance(e, DecisionMade) and e.time <= cut]
    assert len(a) > 10 and a == b


def _dir(tmp_path: Path, tiny_rde, mrms_provenance: str = "trained", core: bool = True) -> Path:  # noqa: ANN001
    root = tmp_path / "models"
    shutil.copytree(tiny_rde[0], root / "rde")
    torch.manual_seed(0)
    save_artifact(MRMSModel(MRMSConfig()), root / "mrms", kind="mrms", provenance=mrms_provenance)
    if core:
        spec = RegimeDetectionEngine.load(root / "rde", device="cpu").manifest.feature_spec_fingerprint
        save_artifact(DecisionCoreModel(CoreConfig()), root / "core", kind="core", provenance="trained",
                      metadata={"feature_spec_fingerprint": spec})
    return root


def test_models_directory_refusals(tmp_path: Path, tiny_rde) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match="not a directory"):
        ModelSet.load(tmp_path / "nowhere", device="cpu")
    root = _dir(tmp_path, tiny_rde, core=False)
    with pytest.raises(ArtifactError, match=r"lacks core/.*algospace train core"):
        ModelSet.load(root, device="cpu")
    shutil.rmtree(root)
    root = _dir(tmp_path, tiny_rde, mrms_provenance="untrained")
    with pytest.raises(ArtifactError, match="untrained"):
        ModelSet.load(root, device="cpu")
    shutil.rmtree(root)
    root = _dir(tmp_path, tiny_rde)
    assert ModelSet.load(root, device="cpu").core.config == CoreConfig()
    save_artifact(DecisionCoreModel(CoreConfig()), root / "core", kind="core", provenance="trained",
                  metadata={"feature_spec_fingerprint": "0" * 64})
    with pytest.raises(ArtifactError, match="different feature spec|trained on feature spec"):
        ModelSet.load(root, device="cpu")
