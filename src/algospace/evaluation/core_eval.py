"""Is the decision core worth having? Out of sample, on the same signals, M-RMS sizing throughout.

Four ways to choose which test-split signals to trade, each run through the same backtest
(`sim.backtest`: one position at a time, the prop-firm account's rules, the M-RMS proposal made
with the account as it stands at each signal):

  (a) every signal;
  (b) a logistic regression (scikit-learn) on the same inputs as flat summaries (each matrix's
      mean and last row, regime, LVN, synergy, risk vector), fitted on the training split with
      the gate's target (R > 0 weighted by |R|), its threshold chosen on validation the same
      way as the core's;
  (c) the core with random weights (same seed as the training), threshold chosen on validation;
  (d) the trained core with the threshold stored in its artifact (chosen on validation);
  (e) diagnostic, not a deliverable: the trained core's policy head alone (gate ignored), its
      threshold chosen on validation: does the learned ranking of P(R > 0) carry out of sample
      when the gate declines everything?

Nothing is fitted or chosen on the test split. Intervals: circular block bootstrap over the
test days (paired: every resample takes the same days for both strategies).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from algospace.errors import ArtifactError, InputError

if TYPE_CHECKING:
    from algospace.training.core_data import CoreData

STRATEGIES = ("a_every_signal", "b_logistic", "c_random_core", "d_trained_core", "e_policy_head_only")


def flat_summaries(inputs: dict[str, np.ndarray], risk: np.ndarray) -> np.ndarray:
    """(N, 81): each matrix's mean over time and last row, then regime, LVN, synergy, risk vector."""
    parts = []
    for k in ("m30", "m5"):
        parts += [inputs[k].mean(axis=1), inputs[k][:, -1]]
    parts += [inputs["regime"], inputs["lvn"], inputs["synergy"], risk]
    return np.concatenate(parts, axis=1).astype(np.float64)


def _gate_weights(r: np.ndarray) -> np.ndarray:
    a = np.abs(r)
    return a / max(float(a.mean()), 1e-9)


@dataclass
class Chooser:
    """A strategy: `take(pos, risk_now) -> bool` for the data row `pos` and the live risk vector."""

    name: str
    take: Callable[[int, np.ndarray], bool]
    threshold: float | None = None


def core_chooser(name: str, model: Any, data: CoreData, threshold: float, passes: int, seed: int,
                 use_gate: bool = True) -> Chooser:
    """MC-dropout confidence once per row (it does not depend on the account); the gate live."""
    from algospace.training.core import score

    idx = np.arange(len(data.r))
    conf = score(model, data, idx, passes, seed)["confidence"]
    states: dict[int, torch.Tensor] = {}

    def take(pos: int, risk_now: np.ndarray) -> bool:
        if conf[pos] < threshold:
            return False
        if not use_gate:
            return True
        with torch.no_grad():
            if pos not in states:
                x = {k: torch.from_numpy(v[pos : pos + 1]) for k, v in data.inputs.items()}
                from algospace.models.core import CoreInputs

                states[pos] = model.embed(CoreInputs(**x))
            p = torch.sigmoid(model.gate_logit(states[pos], torch.from_numpy(risk_now[None].astype(np.float32))))
        return bool(p[0] > 0.5)

    return Chooser(name, take, threshold)


def logistic_chooser(data: CoreData, min_taken: float, seed: int) -> Chooser:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from algospace.training.core import choose_threshold

    x = flat_summaries(data.inputs, data.risk)
    tr, va = data.part("train"), data.part("val")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
    clf.fit(x[tr], data.r[tr] > 0, logisticregression__sample_weight=_gate_weights(data.r[tr]))
    pv = clf.predict_proba(x[va])[:, 1]
    thr = choose_threshold(pv, np.ones(len(va), bool), data.r[va], min_taken)
    inputs = data.inputs

    def take(pos: int, risk_now: np.ndarray) -> bool:
        row = flat_summaries({k: v[pos : pos + 1] for k, v in inputs.items()}, risk_now[None])
        return bool(clf.predict_proba(row)[0, 1] >= thr)

    return Chooser("b_logistic", take, thr)


def run_strategy(data: CoreData, rm: Any, chooser: Chooser, rows: np.ndarray) -> tuple[Any, int, int]:
    """Backtest of one chooser over signal `rows` -> (BacktestResult, signals decided, signals taken)."""
    from algospace.engines.risk_vector import risk_vector
    from algospace.sim import backtest

    pos_of = {int(r): i for i, r in enumerate(data.rows)}
    sigs, inst, acfg = data.signals, data.market.instrument, rm.account_config
    counter = {"decided": 0, "taken": 0}

    def policy(obs: np.ndarray, i: int) -> tuple[int, float, float]:
        acc = obs[30:]
        daily = (1.0 - float(acc[2])) * acfg.daily_loss_limit  # the account vector holds the used shares
        mloss = (1.0 - float(acc[1])) * acfg.max_loss
        prop = rm.propose_arrays(obs[None], sigs.close[i : i + 1], sigs.directions[i : i + 1].astype(np.float64),
                                 sigs.atr[i : i + 1], inst, np.array([daily]), np.array([mloss]))
        risk = risk_vector(prop, sigs.atr[i : i + 1], inst.tick_size, min(daily, mloss), acfg.max_contracts)[0]
        counter["decided"] += 1
        if not chooser.take(pos_of[i], risk):
            return 0, 2.0, 2.0
        counter["taken"] += 1
        return int(prop.position_size[0]), float(prop.sl_atr_multiplier[0]), float(prop.risk_reward_ratio[0])

    res = backtest(data.paths, sigs, policy, account=acfg, rows=rows)
    return res, counter["decided"], counter["taken"]


def _finite_or_nan(x: float) -> float:
    return float(x) if math.isfinite(x) else float("nan")


def evaluate_core(data: CoreData, rm: Any, core_model: Any, training: dict[str, Any], *, seed: int = 0,
                  n_boot: int = 2000, out: Path | None = None) -> dict[str, Any]:
    """Run (a)-(d) on the test split; metrics, calibration and bootstrap intervals (see module doc)."""
    from algospace.evaluation.bootstrap import block_bootstrap
    from algospace.evaluation.calibration import expected_calibration_error, reliability_bins
    from algospace.models.core import CoreConfig, DecisionCoreModel
    from algospace.sim.metrics import daily_pnl, sortino, summarize
    from algospace.training.core import choose_threshold, score
    from algospace.engines.rde_backend import recorded_rde_backend

    cfg = training.get("train_config", {})
    passes, min_taken = int(cfg.get("mc_passes", 50)), float(cfg.get("min_taken", 0.10))
    if training.get("split_boundaries") and training["split_boundaries"] != data.boundaries:
        raise ArtifactError(
            f"This data splits at {data.boundaries}, but the core was trained with {training['split_boundaries']}: "
            "the test split would overlap its training. Evaluate on the data it was trained on."
        )
    if data.rde_backend != recorded_rde_backend(training):
        raise InputError(
            f"These rows' regime vectors come from RDE backend {data.rde_backend}, but the core was trained and "
            f"thresholded on {recorded_rde_backend(training)}'s (training.json rde_backend); load the RDE with that "
            "backend (eval core does)."
        )
    te, va = data.part("test"), data.part("val")
    torch.manual_seed(seed)
    random_model = DecisionCoreModel(CoreConfig(dropout=core_model.config.dropout)).eval()
    sv = score(random_model, data, va, passes, seed)
    random_thr = choose_threshold(sv["confidence"], sv["gate"] > 0.5, data.r[va], min_taken)
    st = score(core_model, data, va, passes, seed)
    policy_thr = choose_threshold(st["confidence"], np.ones(len(va), bool), data.r[va], min_taken)
    choosers = [
        Chooser("a_every_signal", lambda pos, risk: True),
        logistic_chooser(data, min_taken, seed),
        core_chooser("c_random_core", random_model, data, random_thr, passes, seed),
        core_chooser("d_trained_core", core_model.eval(), data, float(training["initiate_threshold"]), passes, seed),
        core_chooser("e_policy_head_only", core_model, data, policy_thr, passes, seed, use_gate=False),
    ]
    rows = data.rows[te]
    results, table, daily = {}, {}, {}
    for ch in choosers:
        res, decided, taken = run_strategy(data, rm, ch, rows)
        m = summarize(res).to_dict()
        m.update({"signals_decided": decided, "signals_taken": taken, "taken_share": taken / decided if decided else float("nan"),
                  "threshold": ch.threshold})
        table[ch.name] = m
        daily[ch.name] = daily_pnl(res.outcomes, res.days).to_numpy(np.float64)
        results[ch.name] = res

    def sortino_gap(x: np.ndarray, y: np.ndarray) -> float:
        return _finite_or_nan(sortino(x, 252) - sortino(y, 252))

    def mean_gap(x: np.ndarray, y: np.ndarray) -> float:
        return float(x.mean() - y.mean())

    intervals = {}
    for cand, base in (("d_trained_core", "a_every_signal"), ("d_trained_core", "b_logistic"),
                       ("e_policy_head_only", "a_every_signal"), ("e_policy_head_only", "b_logistic")):
        for label, stat in (("sortino_daily", sortino_gap), ("mean_daily_pnl", mean_gap)):
            bi = block_bootstrap(stat, daily[cand], daily[base], n_boot=n_boot, level=0.90, seed=seed)
            intervals[f"{cand[0]}_minus_{base[0]}.{label}"] = {"estimate": bi.estimate, "low": bi.low, "high": bi.high,
                                                       "excludes_zero": bi.excludes_zero(), "block_days": bi.block}

    fresh = fresh_account_view(data, choosers, te, n_boot, seed)

    # calibration of the MC-dropout confidence against the fresh-account outcome (R > 0)
    calib = {}
    for name, model in (("d_trained_core", core_model), ("c_random_core", random_model)):
        s = score(model, data, te, passes, seed)
        b = reliability_bins(s["confidence"], data.win[te])
        calib[name] = {"ece": expected_calibration_error(s["confidence"], data.win[te]),
                       "bins": {k: [None if not np.isfinite(v) else float(v) for v in b[k]] for k in ("mean_prob", "frequency", "count")},
                       "mean_uncertainty": float(s["uncertainty"].mean())}
    report = {
        "proxy": data.market.proxy,
        "rde_backend": data.rde_backend,  # the backend of the regime vectors (engines.rde_backend)
        "test_period": [str(np.datetime64(int(data.paths.day[rows].min()), "ns"))[:10],
                        str(np.datetime64(int(data.paths.day[rows].max()), "ns"))[:10]],
        "test_signals": int(len(rows)),
        "test_win_rate_fresh_account": float(data.win[te].mean()),
        "test_mean_r_fresh_account": float(data.r[te].mean()),
        "metrics": table,
        "intervals_90": intervals,
        "fresh_account": fresh,
        "calibration": calib,
        "mc_passes": passes,
    }
    if out is not None:
        write_report(report, Path(out))
    return report


def fresh_account_view(data: CoreData, choosers: list[Chooser], te: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    """Every test signal judged alone, as in training: each strategy's choice with the fresh-account
    risk vector, and the R of the fresh-account proposal it would place (no account path, no
    one-position rule, M-RMS size 0 priced at 1 contract). Many more outcomes than the backtest
    books, so the intervals say more about the ranking itself. Interval: paired block bootstrap
    over test days of the difference in R summed per day."""
    from algospace.evaluation.bootstrap import block_bootstrap
    from algospace.sim.metrics import sortino

    days, day_idx = np.unique(data.paths.day[data.rows[te]], return_inverse=True)
    r = data.r[te]
    rows: dict[str, Any] = {}
    per_day: dict[str, np.ndarray] = {}
    for ch in choosers:
        take = np.array([ch.take(int(p), data.risk[p]) for p in te], bool)
        rt = r[take]
        rows[ch.name] = {"taken_share": float(take.mean()), "signals_taken": int(take.sum()),
                         "mean_r": float(rt.mean()) if len(rt) else float("nan"),
                         "sortino_r": _finite_or_nan(sortino(rt)) if len(rt) > 1 else float("nan"),
                         "win_rate": float((rt > 0).mean()) if len(rt) else float("nan")}
        per_day[ch.name] = np.bincount(day_idx, weights=np.where(take, r, 0.0), minlength=len(days))
    intervals = {}
    for cand in ("d_trained_core", "e_policy_head_only"):
        for base in ("a_every_signal", "b_logistic"):
            bi = block_bootstrap(lambda x, y: float(x.mean() - y.mean()), per_day[cand], per_day[base], n_boot=n_boot,
                                 level=0.90, seed=seed)
            intervals[f"{cand[0]}_minus_{base[0]}.r_per_day"] = {"estimate": bi.estimate, "low": bi.low, "high": bi.high,
                                                                 "excludes_zero": bi.excludes_zero(), "block_days": bi.block}
    return {"rows": rows, "intervals_90": intervals, "days": int(len(days))}


TABLE_COLUMNS = (("taken_share", "{:.1%}"), ("trades", "{:d}"), ("expectancy_r", "{:+.3f}"), ("net_pnl", "{:,.0f}"),
                 ("sortino_daily", "{:.2f}"), ("sortino_trade", "{:.3f}"), ("calmar", "{:.2f}"),
                 ("rule_breaches", "{:d}"), ("max_drawdown_daily", "{:,.0f}"))


def markdown_table(report: dict[str, Any]) -> str:
    """The metrics rows as a Markdown table (docs/core.md shows the real run's)."""
    head = "| strategy | " + " | ".join(c for c, _ in TABLE_COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(TABLE_COLUMNS) + 1)]
    for name, m in report["metrics"].items():
        cells = []
        for col, fmt in TABLE_COLUMNS:
            v = m.get(col)
            cells.append("n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt.format(v))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| 90 % block-bootstrap interval | estimate | low | high | excludes 0 |")
    lines.append("|---|---|---|---|---|")
    for k, v in report["intervals_90"].items():
        lines.append(f"| {k} | {v['estimate']:+.3f} | {v['low']:+.3f} | {v['high']:+.3f} | {v['excludes_zero']} |")
    fresh = report.get("fresh_account")
    if fresh:
        lines += ["", "Each test signal alone (fresh account, R of the proposal, no account path):", "",
                  "| strategy | taken_share | signals_taken | mean_r | win_rate | sortino_r |", "|---|---|---|---|---|---|"]
        for name, m in fresh["rows"].items():
            lines.append(f"| {name} | {m['taken_share']:.1%} | {m['signals_taken']} | {m['mean_r']:+.3f} | "
                         f"{m['win_rate']:.3f} | {m['sortino_r']:+.3f} |")
        lines += ["", "| 90 % block-bootstrap interval (R per day) | estimate | low | high | excludes 0 |", "|---|---|---|---|---|"]
        for k, v in fresh["intervals_90"].items():
            lines.append(f"| {k} | {v['estimate']:+.3f} | {v['low']:+.3f} | {v['high']:+.3f} | {v['excludes_zero']} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out: Path) -> None:
    """results.json, table.md and reliability.png under `out` (atomic writes)."""
    from algospace.io import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "results.json", json.dumps(report, indent=2, sort_keys=True, default=str))
    atomic_write_text(out / "table.md", markdown_table(report))
    reliability_plot(report["calibration"], out / "reliability.png")


def reliability_plot(calib: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    for name, c in calib.items():
        mp = np.array([np.nan if v is None else v for v in c["bins"]["mean_prob"]], float)
        fr = np.array([np.nan if v is None else v for v in c["bins"]["frequency"]], float)
        ok = np.isfinite(mp) & np.isfinite(fr)
        ax.plot(mp[ok], fr[ok], marker="o", label=f"{name} (ECE {c['ece']:.3f})")
    ax.set_xlabel("MC-dropout mean P(R > 0)")
    ax.set_ylabel("observed share with R > 0")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("Decision core calibration (test split)")
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
