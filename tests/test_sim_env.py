"""The Gymnasium environment and the replay it shares with backtests: spaces, episodes, breaches,
one position at a time, and the 40 inputs built by the one synergy-vector and one account-vector function."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from algospace.data import sample
from algospace.errors import ConfigError, InputError
from algospace.features.synergy import synergy_vector
from algospace.signals import build_signals
from algospace.sim import AccountConfig, Market, account_vector, backtest, build_paths
from algospace.sim.env import EnvConfig, TradingEnv


@pytest.fixture(scope="module")
def world():
    s = sample("spy-1m")
    m = Market.load(s.loc[(s.index >= "2018-01-01") & (s.index < "2018-08-01")], "ES")
    sigs = build_signals(m.bars_5m, m.bars_30m, proxy=m.proxy)
    return sigs, build_paths(m.bars, sigs, m.instrument, m.calendar)


# the checker's style advice, by design here: the action box is in the policy's own units
# (ATR multiple, reward:risk) and the observation has no finite bound (documented in docs/sim.md)
@pytest.mark.filterwarnings("ignore:.*symmetric and normalized:UserWarning")
@pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value:UserWarning")
def test_gymnasium_checker_and_spaces(world):
    from gymnasium.utils.env_checker import check_env

    sigs, paths = world
    env = TradingEnv(paths, sigs)
    check_env(env, skip_render_check=True)
    assert env.action_space[0].n == 6 and env.action_space[1].shape == (2,)
    assert list(env.action_space[1].low) == [0.5, 1.0] and list(env.action_space[1].high) == [3.0, 5.0]
    assert env.observation_space.shape == (40,)


def test_observation_is_the_two_vector_functions(world):
    sigs, paths = world
    env = TradingEnv(paths, sigs, EnvConfig(episode_signals=30))
    obs, info = env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        i = info["signal"]
        np.testing.assert_array_equal(obs[:30], synergy_vector(sigs.events[i]))
        np.testing.assert_array_equal(obs[30:], account_vector(env.account.state()))
        obs, _r, term, trunc, info = env.step((int(rng.integers(0, 3)), rng.uniform([0.5, 1.0], [3.0, 5.0])))
        if term or trunc:
            break
        assert info["acted"] == i == env.last_step.outcome.signal[0] and info["signal"] > i


def test_exactly_one_builder_of_each_vector():
    """Static proof: one function in the package defines each vector; the env, the replay and
    backtests reach the vectors only through them (test_observation_is_the_two_vector_functions)."""
    defs: dict[str, list[str]] = {"synergy_vector": [], "account_vector": []}
    root = Path(__file__).resolve().parents[1] / "src" / "algospace"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in defs:
                defs[node.name].append(str(path.relative_to(root)))
    assert defs == {"synergy_vector": ["features/synergy.py"], "account_vector": ["sim/account.py"]}


def test_backtest_sees_the_same_inputs_as_the_env(world):
    sigs, paths = world
    policy = lambda obs, i: (1, 1.5, 2.0)  # noqa: E731
    res = backtest(paths, sigs, policy, keep_observations=True, reset_on_fail=False)
    env = TradingEnv(paths, sigs, EnvConfig(episode_signals=10_000, end_on="max_loss"))
    obs, info = env.reset(options={"start": int(res.outcomes.signal[0])})
    k = 0
    while True:
        assert info["signal"] == res.outcomes.signal[k]
        np.testing.assert_array_equal(obs, res.observations[k])
        obs, _r, term, trunc, info = env.step((1, [1.5, 2.0]))
        k += 1
        if term or trunc:
            break
    assert k == len(res.outcomes)


def test_one_position_at_a_time_and_breaches_end_episodes(world):
    sigs, paths = world
    res = backtest(paths, sigs, lambda o, i: (2, 3.0, 5.0))
    o = res.outcomes
    t = np.flatnonzero(o.traded)
    entry_ns = paths.entry_time_ns[o.signal[t]]
    assert (entry_ns[1:] >= o.exit_time_ns[t][:-1]).all()  # a trade enters only after the previous one left
    assert len(t) > 50
    env = TradingEnv(paths, sigs, EnvConfig(episode_signals=500, account=AccountConfig(daily_loss_limit=100.0)))
    env.reset(seed=0)
    for _ in range(500):
        _obs, reward, term, trunc, info = env.step((1, [3.0, 5.0]))
        if term:
            assert info["breaches"] == ["daily_loss"] and reward < -1.0
            break
        assert not trunc
    else:
        pytest.fail("a $100 daily loss limit never ended an episode")


def test_episode_length_rewards_and_bad_actions(world):
    sigs, paths = world
    env = TradingEnv(paths, sigs, EnvConfig(episode_signals=3, account=AccountConfig(daily_loss_limit=50_000, max_loss=40_000)))
    env.reset(seed=5)
    steps = [env.step({"size": 1, "stop_mult": 9.0, "reward_risk": 0.0}) for _ in range(3)]  # clipped to 3.0 / 1.0
    assert [s[3] for s in steps] == [False, False, True] and not any(s[2] for s in steps)
    assert all(env_info["stop_ticks"] > 0 for *_, env_info in steps)
    assert steps[0][1] == pytest.approx(steps[0][4]["net_usd"] / 1_000.0)
    with pytest.raises(InputError, match="episode is over"):
        env.step((1, [2.0, 2.0]))
    env.reset(seed=5)
    with pytest.raises(InputError, match="size"):
        env.step((6, [2.0, 2.0]))
    with pytest.raises(InputError, match="2 finite"):
        env.step((1, [np.nan, 2.0]))
    a = [TradingEnv(paths, sigs).reset(seed=11)[1]["signal"] for _ in range(2)]
    assert a[0] == a[1]


def test_failed_accounts_are_replaced_in_a_backtest(world):
    sigs, paths = world
    tight = AccountConfig(max_loss=300.0, daily_loss_limit=300.0)
    res = backtest(paths, sigs, lambda o, i: (3, 3.0, 1.0), tight)
    ended = [b for b in res.breaches if b.kind in ("max_loss", "exhausted")]
    assert len(ended) >= 2 and len(res.accounts) == len(ended) + (0 if res.accounts[-1].failed else 1)
    once = backtest(paths, sigs, lambda o, i: (3, 3.0, 1.0), tight, reset_on_fail=False)
    assert len(once.accounts) == 1 and once.accounts[0].failed and len(once.outcomes) < len(res.outcomes)


def test_act_many_books_exactly_like_act(world):
    """Many parallel replays stepped by one vectorised call end in the same trades and accounts as
    the same replays stepped one `act` at a time."""
    from dataclasses import fields

    from algospace.sim import TradeReplay, act_many

    sigs, paths = world
    rng = np.random.default_rng(4)
    tight = AccountConfig(daily_loss_limit=400.0, max_loss=900.0)
    starts = rng.choice(np.flatnonzero(paths.valid), 24, replace=False)
    a = [TradeReplay(paths, sigs, tight, np.arange(s, len(paths))) for s in starts]
    b = [TradeReplay(paths, sigs, tight, np.arange(s, len(paths))) for s in starts]
    reasons = set()
    for _ in range(15):
        live = [k for k in range(len(a)) if a[k].next_signal() is not None]
        for k in live:
            assert b[k].next_signal() == a[k].current
        if not live:
            break
        size = rng.integers(0, 6, len(live))
        mult, rr = rng.uniform(0.5, 3.0, len(live)), rng.uniform(1.0, 5.0, len(live))
        many = act_many([b[k] for k in live], size, mult, rr)
        for j, k in enumerate(live):
            one = a[k].act(int(size[j]), float(mult[j]), float(rr[j]))
            for f in fields(one.outcome):
                assert getattr(one.outcome, f.name)[0] == getattr(many[j].outcome, f.name)[0], f.name
            assert [x.kind for x in one.breaches] == [x.kind for x in many[j].breaches]
            np.testing.assert_array_equal(one.account_before, many[j].account_before)
            reasons.add(int(one.outcome.reason[0]))
    for x, y in zip(a, b):
        assert x.account.state() == y.account.state() and x.account.failed == y.account.failed
    assert len(reasons) >= 4


def test_sim_and_signals_keep_the_package_layering():
    """sim/ and signals/ may import data/, features/, config and each other (signals never sim),
    never engines/, training/, cli/ or models/."""
    root = Path(__file__).resolve().parents[1] / "src" / "algospace"
    banned = ("algospace.engines", "algospace.training", "algospace.cli", "algospace.models")
    for pkg, extra in (("sim", ()), ("signals", ("algospace.sim",))):
        for path in (root / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                else:
                    continue
                for name in names:
                    assert not name.startswith(banned + extra), f"{path.relative_to(root)} imports {name}"


def test_configs_load_from_yaml_strictly():
    import yaml
    
    from algospace.sim import SimConfig

    cfg = AccountConfig.model_validate(yaml.safe_load("max_loss: 2500\nprofit_target: 3000\n"))
    assert cfg.max_loss == 2500 and cfg.daily_loss_limit == 1000
    assert SimConfig.model_validate(yaml.safe_load("slippage_ticks: 0\nflat_before_close_minutes: null\n")).flat_before_close_minutes is None
    with pytest.raises(ConfigError):
        SimConfig.model_validate({"slipage_ticks": 0})
    with pytest.raises(ConfigError):
        EnvConfig.model_validate({"account": {"max_contracts": 0}})
