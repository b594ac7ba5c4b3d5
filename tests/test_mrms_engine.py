"""RiskManager: proposal invariants on random valid inputs, bad input refused, artifact round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from algospace import RiskManager, TradeQualification
from algospace.artifacts import save_artifact
from algospace.errors import ArtifactError, InputError
from algospace.models.mrms import MRMSConfig, MRMSModel
from algospace.sim import AccountConfig, AccountState, PropFirmAccount, SimConfig


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(3)
    return MRMSModel(MRMSConfig()).eval()


@pytest.fixture(scope="module")
def rm(model):
    return RiskManager(model)


def test_parameter_count_stays_28745(model):
    assert sum(p.numel() for p in model.parameters()) == 28_745


def _random_account(rng: np.random.Generator):
    """A PropFirmAccount after a random sequence of trades, its state, or its 10-vector."""
    acct = PropFirmAccount()
    for day in range(int(rng.integers(0, 4))):
        for _ in range(int(rng.integers(0, 4))):
            if acct.can_trade:
                acct.record(float(rng.normal(0, 350)), float(rng.normal(0, 1)), day=day)
    if acct.day is None:
        acct.start_day(0)
    form = int(rng.integers(0, 3))
    return acct, (acct, acct.state(), acct.vector())[form]


def _random_qualification(rng: np.random.Generator) -> tuple[dict, PropFirmAccount]:
    acct, account = _random_account(rng)
    inst = str(rng.choice(["ES", "MES"]))
    entry = float(rng.uniform(1000, 6000))
    if rng.random() < 0.5:
        entry = round(entry * 4) / 4  # half on the grid, half mid prices
    q = {"synergy_vector": rng.normal(0, 1.5, 30), "account": account, "entry_price": entry,
         "direction": str(rng.choice(["LONG", "SHORT", "long"])), "atr": float(rng.uniform(0.25, 40.0)), "instrument": inst}
    return q, acct


def _on_grid(price: float, tick: float = 0.25) -> bool:
    return abs(price / tick - round(price / tick)) < 1e-9


def test_proposal_invariants_on_random_valid_inputs(rm):
    rng = np.random.default_rng(11)
    sim, cfg = SimConfig(), AccountConfig()
    seen_cut = 0
    for _ in range(400):
        q, acct = _random_qualification(rng)
        p = rm.generate_risk_proposal(q)
        long = q["direction"].upper() == "LONG"
        if long:
            assert p.stop_loss_price < q["entry_price"] < p.take_profit_price
        else:
            assert p.take_profit_price < q["entry_price"] < p.stop_loss_price
        assert _on_grid(p.stop_loss_price) and _on_grid(p.take_profit_price)
        assert 0 <= p.position_size <= min(p.model_size, cfg.max_contracts)
        room = acct.room()
        room_usd = min(room.daily, room.max_loss) if room.trading else 0.0
        tick_value = 12.5 if q["instrument"] == "ES" else 1.25
        worst = p.position_size * ((p.stop_ticks + sim.slippage_ticks) * tick_value + sim.commission_for(q["instrument"]))
        assert p.position_size == 0 or worst < room_usd, (worst, room_usd)
        assert 0.5 <= p.sl_atr_multiplier <= 3.0 and 0.0 < p.confidence <= 1.0
        assert p.risk_reward_ratio > 0 and math.isfinite(p.risk_amount)
        if p.position_size < p.model_size:
            seen_cut += 1
            assert p.size_cut and p.size_cut_by in ("daily_loss", "max_loss", "not_trading")
            assert any(not c.ok for c in p.rule_checks)
        else:
            assert not p.size_cut and all(c.ok for c in p.rule_checks)
        assert json.loads(json.dumps(p.to_dict()))["position_size"] == p.position_size
    assert seen_cut > 10  # the random accounts do exercise the cuts


def test_one_and_batched_paths_agree(rm):
    rng = np.random.default_rng(5)
    qs = [_random_qualification(rng)[0] for _ in range(300)]
    batch = rm.generate_risk_proposals(qs)
    for q, b in zip(qs, batch):
        one = rm.generate_risk_proposal(q)
        assert (one.position_size, one.model_size, one.stop_ticks, one.target_ticks, one.size_cut_by) == (
            b.position_size, b.model_size, b.stop_ticks, b.target_ticks, b.size_cut_by)
        assert one.stop_loss_price == b.stop_loss_price and one.take_profit_price == b.take_profit_price
        assert one.risk_amount == pytest.approx(b.risk_amount) and one.confidence == pytest.approx(b.confidence, rel=1e-5)
        assert one.sl_atr_multiplier == pytest.approx(b.sl_atr_multiplier, rel=1e-5)


def test_numpy_path_matches_the_torch_model(rm, model):
    x = np.random.default_rng(0).normal(size=(50, 40)).astype(np.float32)
    logits, stop, rr = rm.network(x)
    with torch.no_grad():
        ref = model(torch.from_numpy(x[:, :30]), torch.from_numpy(x[:, 30:]))
    np.testing.assert_allclose(logits, ref.position_logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(stop, ref.stop_multiplier.numpy(), atol=1e-5)
    np.testing.assert_allclose(rr, ref.reward_risk.numpy(), atol=1e-5)


def test_a_locked_or_failed_account_gets_size_zero(rm):
    acct = PropFirmAccount()
    acct.record(-1000.0, -1.0, day=1)  # daily limit reached: locked for the day
    q = {"synergy_vector": np.zeros(30), "account": acct, "entry_price": 4500.0, "direction": "LONG", "atr": 5.0, "instrument": "ES"}
    p = rm.generate_risk_proposal(q)
    assert p.position_size == 0
    assert p.model_size == 0 or p.size_cut_by == "not_trading"


def test_the_10_vector_and_the_account_give_the_same_room(rm):
    acct = PropFirmAccount()
    acct.record(-400.0, -1.0, day=1)
    base = {"synergy_vector": np.full(30, 0.3), "entry_price": 4500.0, "direction": "SHORT", "atr": 8.0, "instrument": "ES"}
    a = rm.generate_risk_proposal({**base, "account": acct})
    b = rm.generate_risk_proposal({**base, "account": acct.vector()})
    c = rm.generate_risk_proposal(TradeQualification(**base, account=acct.state()))
    assert a == b == c


GOOD = {"synergy_vector": [0.1] * 30, "account": [1, 0, 0, 0, 0.5, 0.5, 0, 0, 0.5, 0.5], "entry_price": 4500.0,
        "direction": "LONG", "atr": 6.0, "instrument": "ES"}


@pytest.mark.parametrize("field, value", [
    ("synergy_vector", [0.1] * 29), ("synergy_vector", [float("nan")] + [0.0] * 29), ("synergy_vector", "abc"),
    ("synergy_vector", None), ("account", [1.0] * 9), ("account", [1, 0, float("inf"), 0, 0.5, 0.5, 0, 0, 0.5, 0.5]),
    ("account", [1, 1.5, 0, 0, 0.5, 0.5, 0, 0, 0.5, 0.5]), ("entry_price", float("nan")), ("entry_price", -1.0),
    ("entry_price", "4500"), ("atr", 0.0), ("atr", -2.0), ("atr", float("nan")), ("direction", "BUY"), ("direction", 1),
    ("instrument", "ZZZ"), ("instrument", None),
])
def test_bad_input_is_refused_naming_the_field(rm, field, value):
    with pytest.raises(InputError, match=field):
        rm.generate_risk_proposal({**GOOD, field: value})
    with pytest.raises(InputError, match=f"qualification 1: {field}"):
        rm.generate_risk_proposals([GOOD, {**GOOD, field: value}])


@pytest.mark.parametrize("field", list(GOOD))
def test_a_missing_field_is_named(rm, field):
    q = {k: v for k, v in GOOD.items() if k != field}
    with pytest.raises(InputError, match=field):
        rm.generate_risk_proposal(q)


def test_artifact_round_trip(tmp_path, model, rm):
    out = tmp_path / "mrms"
    training = {"account": AccountConfig(daily_loss_limit=800.0).model_dump(), "sim": SimConfig().model_dump()}

    def extra(d):
        (d / "training.json").write_text(json.dumps(training))

    save_artifact(model, out, kind="mrms", provenance="trained", metadata={"seed": 0}, write_extra=extra)
    loaded = RiskManager.load(out, device="cpu")
    assert loaded.account_config.daily_loss_limit == 800.0
    x = np.random.default_rng(1).normal(size=(20, 40)).astype(np.float32)
    for a, b in zip(loaded.network(x), rm.network(x)):
        np.testing.assert_array_equal(a, b)
    save_artifact(model, tmp_path / "raw", kind="mrms", provenance="untrained")
    with pytest.raises(ArtifactError, match="untrained"):
        RiskManager.load(tmp_path / "raw")
    assert RiskManager.load(tmp_path / "raw", allow_untrained=True).manifest.provenance == "untrained"


def test_an_account_state_is_accepted(rm):
    state = AccountState(balance=49_500.0, starting_balance=50_000.0, floor=48_000.0, max_loss=2_000.0, day_pnl=-500.0,
                         daily_loss_limit=1_000.0, profit_target=3_000.0)
    p = rm.generate_risk_proposal({**GOOD, "account": state, "atr": 30.0})
    # 500 USD of daily room left: at most floor((500 - 0.01) / (121 ticks x 12.5 + ...)) contracts
    assert p.position_size == 0
