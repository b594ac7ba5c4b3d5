"""Train the M-RMS with PPO on the trade simulator: one step per signal, through a prop-firm account.

Reads top to bottom: data (market with the SPY->ES proxy, signals, trade paths, a
chronological split by trading day with no trade crossing a boundary), model init (scratch or
resume), one loop (rollout of parallel episodes, PPO update, validation backtest, checkpoint,
early stop, time budget), then the artifact.

An episode starts a fresh account at a random training signal and walks the following
signals one position at a time (`sim.TradeReplay`: the same loop every backtest uses). The
policy's size passes the same rule checks as `RiskManager` (cut to fit the rooms), so what is
rewarded is exactly what the engine would propose. Reward: `RewardConfig` (documented there).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from algospace.devices import resolve_device
from algospace.engines.mrms import RiskManager, rule_proposals
from algospace.engines.mrms_rules import rooms_from_vector
from algospace.errors import DataError, InputError
from algospace.hashing import sha256_json
from algospace.models.mrms import MRMSConfig, MRMSModel
from algospace.training.mrms_config import MRMSTrainConfig
from algospace.training.ppo import HybridPolicy, PPOConfig, Rollout, act, ppo_update
from algospace.sim.replay import TradeReplay, act_many
from algospace.training.loop import FitResult, progress_task
from algospace.training.rde import (
    _CHECKPOINT_KEYS as _RESUME_KEYS, _read_checkpoint, _save_checkpoint, checkpoint_path, data_fingerprint, flat_metrics,
    over_budget,
)
from algospace.training.resume import restore, snapshot

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass
class MRMSData:
    """Signals, their trade paths and the chronological split. Built by `prepare_mrms_data`."""

    signals: Any  # signals.SignalSet
    paths: Any  # sim.TradePaths
    rows: dict[str, np.ndarray]  # split -> signal rows (valid entries, time order)
    boundaries: dict[str, pd.Timestamp]  # first trading day (session open) of val and of test
    dropped_at_boundary: dict[str, int]  # rows left out because their trade could cross into the next split
    proxy: str
    data_fingerprint: str
    date_range: tuple[str, str]


def load_market(data: Any, cfg: MRMSTrainConfig):  # -> sim.Market
    from algospace.sim import Market

    return Market.load(data, cfg.instrument, bar_minutes=cfg.sim.bar_minutes)


def build_mrms_signals(data: Any, cfg: MRMSTrainConfig, source: str | None = None) -> MRMSData:
    """Bars (a sample name, a path or a frame) -> signals -> paths, not yet split: `rows` holds
    every tradable signal under "all" (`split_by_days` and the walk-forward cut it)."""
    from algospace.signals import build_signals
    from algospace.sim import build_paths

    m = load_market(data, cfg)
    sigs = build_signals(m.bars_5m, m.bars_30m, source or cfg.source, proxy=m.proxy)
    paths = build_paths(m.bars, sigs, m.instrument, m.calendar, config=cfg.sim)
    return MRMSData(signals=sigs, paths=paths, rows={"all": np.flatnonzero(paths.valid)}, boundaries={}, dropped_at_boundary={},
                    proxy=m.proxy, data_fingerprint=data_fingerprint(m.bars), date_range=(str(m.bars.index[0]), str(m.bars.index[-1])))


def trade_end_ns(paths: Any, rows: np.ndarray) -> np.ndarray:
    """The close time of the last bar each row's trade could still be open (max hold, session flat)."""
    return paths.bar_close_ns[paths.entry_index[rows] + paths.length[rows] - 1]


def split_by_days(paths: Any, rows: np.ndarray, cuts: list[int], names: tuple[str, ...]) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Cut `rows` at the trading days `cuts` (session-open ns, increasing) into len(cuts) + 1
    segments named `names`. A row whose longest possible trade ends after the next segment
    starts is dropped (counted in the second dict), so no trade overlaps a boundary."""
    if len(names) != len(cuts) + 1 or any(b <= a for a, b in zip(cuts, cuts[1:])):
        raise InputError(f"split_by_days needs increasing cuts and one name more than cuts; got {len(cuts)} cuts, names {names}.")
    day = paths.day[rows]
    seg = np.searchsorted(np.asarray(cuts, dtype=np.int64), day, side="right")
    next_start = np.asarray([*cuts, np.iinfo(np.int64).max], dtype=np.int64)[seg]
    inside = trade_end_ns(paths, rows) <= next_start
    out = {name: rows[(seg == k) & inside] for k, name in enumerate(names)}
    dropped = {name: int(((seg == k) & ~inside).sum()) for k, name in enumerate(names)}
    return out, dropped


def prepare_mrms_data(data: Any, cfg: MRMSTrainConfig, source: str | None = None) -> MRMSData:
    """Bars (a sample name, a path or a frame) -> signals -> paths -> split by trading day.

    The split cuts the valid signals `train_fraction` / `val_fraction` / rest by count, moved to
    the start of that signal's trading day. A signal whose longest possible trade (its path:
    max hold, session flat time) ends after the next split starts is dropped, so no trade
    overlaps a boundary (with the default session-flat rule none needs dropping).
    """
    base = data if isinstance(data, MRMSData) else build_mrms_signals(data, cfg, source)
    valid = base.rows["all"] if "all" in base.rows else np.sort(np.concatenate(list(base.rows.values())))
    n = len(valid)
    i_val, i_test = int(n * cfg.train_fraction), int(n * (cfg.train_fraction + cfg.val_fraction))
    if n < 20 or i_val < 1 or i_test <= i_val or i_test >= n:
        raise DataError(f"{n} tradable signals are too few to split {cfg.train_fraction}/{cfg.val_fraction}/rest; use more data.")
    day = base.paths.day[valid]
    cuts = [int(day[i_val]), int(day[i_test])]
    if cuts[0] == cuts[1]:
        raise DataError("The validation and test splits start on the same trading day; use more data.")
    rows, dropped = split_by_days(base.paths, valid, cuts, SPLITS)
    return replace(base, rows=rows, dropped_at_boundary=dropped,
                   boundaries={"val": pd.Timestamp(cuts[0], tz="UTC"), "test": pd.Timestamp(cuts[1], tz="UTC")})


def ppo_config(cfg: MRMSTrainConfig) -> PPOConfig:
    return PPOConfig(**cfg.ppo.model_dump())


# ----------------------------------------------------------------------------- episodes
class Episodes:
    """`n` parallel episodes over the training rows, each a `TradeReplay` from a random start."""

    def __init__(self, data: MRMSData, rows: np.ndarray, cfg: MRMSTrainConfig, rng: np.random.Generator) -> None:
        self.data, self.rows, self.cfg, self.rng = data, rows, cfg, rng
        self.replays: list[Any] = [None] * cfg.n_envs
        self.peak = np.zeros(cfg.n_envs)
        for i in range(cfg.n_envs):
            self._reset(i)

    def _reset(self, i: int) -> None:

        for _ in range(100):
            start = int(self.rng.integers(0, len(self.rows) - 1))
            replay = TradeReplay(self.data.paths, self.data.signals, self.cfg.account, self.rows[start:])
            if replay.next_signal() is not None:
                self.replays[i] = replay
                self.peak[i] = replay.account.balance
                return
        raise DataError("No tradable training signal found for an episode; use more data.")

    def observations(self) -> np.ndarray:
        return np.stack([r.observation() for r in self.replays])  # (N, 40)

    def step(self, size: np.ndarray, stop: np.ndarray, rr: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """Apply the rules, trade every env's current signal -> (reward, done, stats); done envs restart."""
        cfg, p = self.cfg, self.data.paths
        rows = np.array([r.current for r in self.replays])
        daily, mloss = rooms_from_vector(obs[:, 30:], cfg.account.daily_loss_limit, cfg.account.max_loss)
        prop = rule_proposals(size, stop, rr, p.entry_price[rows], p.direction[rows], p.atr[rows], p.instrument,
                              daily, mloss, cfg.account.max_contracts, cfg.sim)
        rr_placed = prop.target_ticks / prop.stop_ticks
        reward = np.zeros(len(rows))
        done = np.zeros(len(rows))
        stats = {"pnl": 0.0, "breaches": 0.0, "trades": 0.0, "contracts": 0.0}
        rc = cfg.reward
        before = np.array([r.account.balance for r in self.replays])
        steps = act_many(self.replays, prop.position_size, stop, rr_placed)  # one simulate call for all envs
        for i, (replay, step) in enumerate(zip(self.replays, steps)):
            dd_before = self.peak[i] - before[i]
            after = replay.account.balance
            self.peak[i] = max(self.peak[i], after)
            dd_rise = max(0.0, (self.peak[i] - after) - dd_before)
            net = after - before[i]
            reward[i] = (net - rc.drawdown_penalty * dd_rise) / rc.pnl_scale - rc.breach_penalty * len(step.breaches)
            stats["pnl"] += net
            stats["breaches"] += len(step.breaches)
            stats["trades"] += float(step.outcome.size[0] > 0)
            stats["contracts"] += float(step.outcome.size[0])
            if replay.next_signal() is None:
                done[i] = 1.0
                self._reset(i)
        return reward, done, stats


# ----------------------------------------------------------------------------- validation
def backtest_policy(model: MRMSModel, data: MRMSData, split: str, cfg: MRMSTrainConfig):  # -> (BacktestResult, Metrics)
    """The deterministic policy (what RiskManager proposes) over one split; a failed or exhausted
    account is replaced by a fresh one the next day (`training.mrms_policies.backtest_rules`)."""
    from algospace.training.mrms_policies import Context, backtest_rules, network
    from algospace.sim.metrics import summarize

    rm = RiskManager(model.cpu().eval(), training={"account": cfg.account.model_dump(), "sim": cfg.sim.model_dump()})
    ctx = Context(data.paths, cfg.account, cfg.sim)
    result = backtest_rules(ctx, data.signals, network(rm), data.rows[split])
    return result, summarize(result)


def score(metrics: Any) -> float:
    """Validation score: annualised daily Sortino (0 without trades or risk; capped at +-10) - 1 per rule breach."""
    s = metrics.sortino_daily
    s = 0.0 if math.isnan(s) else min(10.0, max(-10.0, s))
    return float(s - metrics.rule_breaches)


def _metrics_dict(m: Any) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in m.to_dict().items()}


def ppo_iteration(policy: HybridPolicy, opt: torch.optim.Optimizer, data: MRMSData, rows: np.ndarray, cfg: MRMSTrainConfig,
                  rng: np.random.Generator, gen: torch.Generator, device: torch.device) -> dict[str, Any]:
    """One rollout of `cfg.n_envs` fresh episodes over `rows` and one PPO update -> the history row.

    Fresh episodes every iteration: no environment state crosses a checkpoint."""
    k = policy.model.config.synergy_dim
    envs = Episodes(data, rows, cfg, rng)
    obs = envs.observations()
    cols: dict[str, list[torch.Tensor]] = {n: [] for n in ("synergy", "account", "size", "z", "log_prob", "value", "reward", "done")}
    totals = {"pnl": 0.0, "breaches": 0.0, "trades": 0.0, "contracts": 0.0}
    for _ in range(cfg.episode_signals):
        x = torch.from_numpy(obs).to(device)
        a, lp, v = act(policy, x[:, :k], x[:, k:], gen)
        size, stop, rr = (t.cpu().numpy() for t in (a.size, a.stop_multiplier, a.reward_risk))
        reward, done, stats = envs.step(size, stop.astype(np.float64), rr.astype(np.float64), obs)
        for name, val in (("synergy", x[:, :k]), ("account", x[:, k:]), ("size", a.size), ("z", a.z), ("log_prob", lp),
                          ("value", v), ("reward", torch.from_numpy(reward).float().to(device)),
                          ("done", torch.from_numpy(done).float().to(device))):
            cols[name].append(val)
        totals = {n: totals[n] + stats[n] for n in totals}
        obs = envs.observations()
    x = torch.from_numpy(obs).to(device)
    _, _, last_value = act(policy, x[:, :k], x[:, k:], gen)  # truncated episodes bootstrap from here
    roll = Rollout(**{n: torch.stack(v) for n, v in cols.items()}, last_value=last_value)
    upd = ppo_update(policy, opt, roll, ppo_config(cfg), gen)
    n_steps = cfg.n_envs * cfg.episode_signals
    return {"mean_reward": float(roll.reward.mean()), "pnl_per_step": totals["pnl"] / n_steps,
            "trade_rate": totals["trades"] / n_steps, "breaches": totals["breaches"],
            "contracts_per_trade": totals["contracts"] / max(1.0, totals["trades"]), **upd,
            "log_std": [round(float(s), 4) for s in policy.log_std.detach().cpu()]}


# ----------------------------------------------------------------------------- training
# `training.resume`'s snapshot (its "epoch" and "step" count iterations, "bad_epochs" evaluations
# without improvement) plus the numpy generator that draws the episodes.
_CHECKPOINT_KEYS = (*_RESUME_KEYS, "np_rng")


def _run_key(cfg: MRMSTrainConfig, data: MRMSData) -> str:
    # Budget, iteration cap, threads, device and the refit after the loop do not change what an
    # iteration computes: a run stopped by its budget or cap resumes under a larger one.
    knobs = cfg.model_dump(mode="json", exclude={"max_minutes", "max_iterations", "threads", "device", "refit_on_validation"})
    return sha256_json({"cfg": knobs, "data": data.data_fingerprint, "rows": [len(v) for v in data.rows.values()]})


@dataclass
class TrainResult(FitResult[MRMSModel, MRMSData]):
    """An M-RMS fit: the best-validation model on the CPU and the policy's final exploration noise."""

    log_std: list[float] = field(default_factory=list)


def fit_mrms(data: MRMSData, cfg: MRMSTrainConfig, checkpoint: Path | None = None, progress: bool = True) -> TrainResult:
    """PPO on the training rows; the best policy by validation score is kept. Resumes from `checkpoint`."""
    # --- setup ---------------------------------------------------------------------------
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    pcfg = ppo_config(cfg)
    run_key = _run_key(cfg, data)

    # --- init: scratch or resume ------------------------------------------------------------
    policy = HybridPolicy(MRMSModel(MRMSConfig(n_sizes=cfg.account.max_contracts + 1)), pcfg.init_log_std).to(device)
    opt = torch.optim.Adam(policy.parameters(), lr=pcfg.lr)
    state = _read_checkpoint(checkpoint, run_key, _CHECKPOINT_KEYS) if checkpoint is not None else None
    start_it, _, best, bad_evals, history, best_state = restore(state, policy, opt, gen)
    if state is None:
        best = -math.inf  # a score, higher is better
    else:
        rng.bit_generator.state = json.loads(state["np_rng"])
        log.info("resuming M-RMS training at iteration %d from %s", start_it, checkpoint)

    # --- one loop -----------------------------------------------------------------------------
    t0 = time.monotonic()
    stop_reason = "max_iterations"
    with progress_task(progress, "train mrms", cfg.max_iterations, start_it) as advance:
        for it in range(start_it, cfg.max_iterations):
            if bad_evals >= cfg.patience:
                stop_reason = "early_stopping"
                break
            it_start = time.monotonic()
            row = ppo_iteration(policy, opt, data, data.rows["train"], cfg, rng, gen, device)
            row = {"iteration": it + 1, **row}
            if (it + 1) % cfg.eval_every == 0 or it + 1 == cfg.max_iterations:
                _, vm = backtest_policy(policy.model, data, "val", cfg)
                policy.model.to(device)
                row["val_score"], row["val_sortino"], row["val_net_pnl"] = score(vm), vm.sortino_daily, vm.net_pnl
                row["val_trades"], row["val_breaches"] = vm.trades, vm.rule_breaches
                if row["val_score"] > best:
                    best, bad_evals = row["val_score"], 0
                    best_state = {kk: t.detach().cpu().clone() for kk, t in policy.model.state_dict().items()}
                else:
                    bad_evals += 1
            history.append(row)
            log.info("iteration %d: %s", it + 1, row)
            if checkpoint is not None:
                _save_checkpoint(checkpoint, {**snapshot(run_key, policy, opt, best_state, gen, it + 1, it + 1, best, bad_evals, history),
                                              "np_rng": json.dumps(rng.bit_generator.state)})
            advance(f"reward {row['mean_reward']:+.3f} val {best:+.2f}")
            if over_budget(t0, time.monotonic() - it_start, cfg.max_minutes):
                stop_reason = "time_budget"
                break
    if stop_reason == "max_iterations" and bad_evals >= cfg.patience:
        stop_reason = "early_stopping"

    # --- refit (optional): the selected iteration count on train + validation ------------------
    notes: list[str] = []
    refit: dict[str, Any] | None = None
    if cfg.refit_on_validation and best_state is not None:
        best_it = best_iteration(history, best)
        policy = refit_policy(data, cfg, best_it, device)
        best_state = {kk: t.detach().cpu().clone() for kk, t in policy.model.state_dict().items()}
        refit = {"iterations": best_it, "signals": int(len(data.rows["train"]) + len(data.rows["val"]))}
        notes.append(f"refit from scratch on train + validation for the best validation iteration count ({best_it}): "
                     "the validation metrics are in sample")

    # --- evaluate the best policy on every split --------------------------------------------
    model = policy.model.cpu()
    if best_state is None:
        notes.append("stopped before the first validation; the last iteration's weights are kept")
    else:
        model.load_state_dict(best_state)
    model.eval()
    metrics: dict[str, Any] = {}
    for split in SPLITS:
        _, m = backtest_policy(model, data, split, cfg)
        metrics[split] = {**_metrics_dict(m), "score": score(m)}
    metrics.update({"iterations": len(history), "stop_reason": stop_reason, "train_seconds": round(time.monotonic() - t0, 1),
                    "best_val_score": best if math.isfinite(best) else metrics["val"]["score"], "device": str(device)})
    if refit is not None:
        metrics["refit"] = refit
    if notes:
        metrics["notes"] = notes
    return TrainResult(model=model, metrics=metrics, history=history, data=data,
                       log_std=[float(s) for s in policy.log_std.detach().cpu()])


def best_iteration(history: list[dict[str, Any]], best: float) -> int:
    """The first iteration whose validation score is `best` (the weights early stopping kept)."""
    return int(next(r["iteration"] for r in history if r.get("val_score") == best))


def refit_policy(data: MRMSData, cfg: MRMSTrainConfig, iterations: int, device: torch.device) -> HybridPolicy:
    """A fresh policy trained for `iterations` PPO iterations on the train AND validation rows
    (`cfg.refit_on_validation`): the number of iterations was chosen by early stopping on the
    validation rows; the refit then learns from the most recent signals before the test period
    too. Seeded like the main run (same init), so the same seed gives the same weights."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    rng = np.random.default_rng(cfg.seed + 1)
    pcfg = ppo_config(cfg)
    policy = HybridPolicy(MRMSModel(MRMSConfig(n_sizes=cfg.account.max_contracts + 1)), pcfg.init_log_std).to(device)
    opt = torch.optim.Adam(policy.parameters(), lr=pcfg.lr)
    rows = np.concatenate([data.rows["train"], data.rows["val"]])
    for _ in range(iterations):
        ppo_iteration(policy, opt, data, rows, cfg, rng, gen, device)
    return policy


def train_mrms(data: Any, out: str | Path, cfg: MRMSTrainConfig | None = None, progress: bool = True) -> TrainResult:
    """Bars (sample name, path or frame) -> signals -> PPO -> M-RMS artifact at `out` (provenance `trained`)."""
    from algospace.artifacts import save_artifact
    from algospace.artifacts.layout import extras_writer
    from algospace.features.synergy import synergy_vector_fingerprint
    from algospace.sim import ACCOUNT_VECTOR_NAMES, ACCOUNT_VECTOR_VERSION

    cfg = cfg or MRMSTrainConfig()
    resolve_device(cfg.device)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory; give a directory path for the artifact.")
    prepared = data if isinstance(data, MRMSData) else prepare_mrms_data(data, cfg)
    ckpt = checkpoint_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = fit_mrms(prepared, cfg, checkpoint=ckpt, progress=progress)
    times = prepared.signals.times
    split = {name: {"signals": int(len(r)), "first": str(times[r[0]]) if len(r) else None, "last": str(times[r[-1]]) if len(r) else None,
                    "dropped_at_boundary": prepared.dropped_at_boundary[name]} for name, r in prepared.rows.items()}
    details = {
        "proxy": prepared.proxy,
        "instrument": cfg.instrument,
        "source": prepared.signals.source,
        "signal_counts": prepared.signals.counts(),
        "split": split,
        "split_boundaries": {k: v.isoformat() for k, v in prepared.boundaries.items()},
        "account": cfg.account.model_dump(mode="json"),
        "sim": cfg.sim.model_dump(mode="json"),
        "synergy_vector_fingerprint": synergy_vector_fingerprint(),
        "account_vector": {"version": ACCOUNT_VECTOR_VERSION, "names": list(ACCOUNT_VECTOR_NAMES)},
        "policy_log_std": result.log_std,
        "metrics": result.metrics,
        "history": result.history,
        "train_config": cfg.model_dump(mode="json"),
    }
    metadata = {
        "feature_spec_fingerprint": synergy_vector_fingerprint(),
        "training_data": {
            "fingerprint": prepared.data_fingerprint, "start": prepared.date_range[0], "end": prepared.date_range[1],
            "description": f"{len(prepared.signals)} {prepared.signals.source} signals on {prepared.proxy}; split by trading day "
            f"{cfg.train_fraction:.0%} / {cfg.val_fraction:.0%} / rest: " + ", ".join(f"{k} {v['signals']}" for k, v in split.items()),
        },
        "training_metrics": flat_metrics({k: v for k, v in result.metrics.items() if k in SPLITS or not isinstance(v, dict)}),
        "seed": cfg.seed,
        "notes": [f"prices: {prepared.proxy}", *result.metrics.get("notes", [])],
    }

    save_artifact(result.model, out, kind="mrms", provenance="trained", metadata=metadata, write_extra=extras_writer(training=details))
    if result.metrics["stop_reason"] != "time_budget":
        ckpt.unlink(missing_ok=True)
    return result


__all__ = ["MRMSData", "TrainResult", "build_mrms_signals", "split_by_days", "trade_end_ns", "prepare_mrms_data", "fit_mrms", "best_iteration", "refit_policy", "ppo_iteration", "train_mrms", "backtest_policy", "score", "Episodes"]
