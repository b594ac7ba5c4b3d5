"""Train the decision core: supervised on the simulator's outcomes of the M-RMS's trades.

Why supervised and not RL: the core's action (take the signal or not) does not change what
happens to the trade, only whether it is booked, so each signal's outcome in R can be computed
once by the simulator and is an exact label (a contextual bandit with full feedback on the
"take" arm). Supervised learning on those labels has far lower variance than a policy
gradient on the same rewards, needs no reward shaping, and gives a calibrated probability that
the MC-dropout confidence can be checked against. The account's path (which earlier trades
were booked) matters only through the M-RMS's sizing and the rules, which the eval applies.

Targets (docs/core.md):
- policy head: P(R > 0), the probability that the proposed trade wins (plain cross-entropy),
  so its MC-dropout mean is a probability one can check for calibration;
- gate: the same event, each row weighted by |R|. The weighted-logistic optimum is
  p = E[R+] / (E[R+] + E[R-]), so p > 0.5 exactly when the expected R is positive: the gate
  executes trades with a positive expectancy given the state and the proposal (its stop,
  target and R:R change the break-even win rate, which the policy head cannot see).

The initiate threshold (the reference's 0.65) is chosen on the validation split, never on the
test split: P(R > 0) of a 2R trade sits near 0.35, so a fixed 0.65 would take nothing. The
chosen value is stored in the artifact's training.json (`initiate_threshold`).

Reads top to bottom: data (`core_data`), init (scratch or resume), one loop (batches,
backward, clip, step, validate, checkpoint, early stop, time budget), scoring and the artifact.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from algospace.devices import resolve_device
from algospace.errors import InputError
from algospace.hashing import sha256_json
from algospace.models.core import CoreConfig, CoreInputs, DecisionCoreModel
from algospace.training.core_config import CoreTrainConfig
from algospace.training.core_data import INPUT_NAMES, SPLITS, CoreData, prepare_core_data
from algospace.training.loop import progress_bar
from algospace.training.rde import _read_checkpoint, _save_checkpoint, checkpoint_path, flat_metrics, over_budget
from algospace.training.resume import restore, snapshot

log = logging.getLogger(__name__)

THRESHOLD_QUANTILES = np.linspace(0.0, 0.9, 19)  # candidate thresholds: quantiles of validation confidence


def batch_inputs(data: CoreData, idx: np.ndarray, device: torch.device | str = "cpu") -> CoreInputs:
    return CoreInputs(*(torch.from_numpy(data.inputs[k][idx]).to(device) for k in INPUT_NAMES))


def losses(model: DecisionCoreModel, x: CoreInputs, risk: torch.Tensor, win: torch.Tensor,
           weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(policy cross-entropy on R > 0, gate cross-entropy weighted by |R|)."""
    state = model.embed(x)
    logits = model.policy_logits(state)  # (B, 2); dropout when model.training
    pol = F.binary_cross_entropy_with_logits(logits[:, 1] - logits[:, 0], win)  # softmax of 2 = sigmoid of the gap
    gate = F.binary_cross_entropy_with_logits(model.gate_logit(state, risk), win, weight=weight, reduction="sum") / weight.sum()
    return pol, gate


@torch.no_grad()
def score(model: DecisionCoreModel, data: CoreData, idx: np.ndarray, passes: int, seed: int = 0,
          risk: np.ndarray | None = None, batch_size: int = 512) -> dict[str, np.ndarray]:
    """MC-dropout mean and std of P(initiate) ((P, B) in one batched pass per batch) and the gate's p."""
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    conf, std, gate = [], [], []
    risk = data.risk if risk is None else risk
    for s in range(0, len(idx), batch_size):
        b = idx[s : s + batch_size]
        x = batch_inputs(data, b, device)
        out = model(x, passes=passes, generator=gen)
        conf.append(out.initiate_prob.cpu().numpy())
        std.append(out.initiate_std.cpu().numpy())
        gate.append(torch.sigmoid(model.gate_logit(out.state, torch.from_numpy(risk[b]).to(device))).cpu().numpy())
    cat = (lambda parts: np.concatenate(parts) if parts else np.zeros(0))
    return {"confidence": cat(conf), "uncertainty": cat(std), "gate": cat(gate)}


def choose_threshold(confidence: np.ndarray, execute: np.ndarray, r: np.ndarray, min_taken: float) -> float:
    """The threshold on `confidence` (among validation quantiles) whose taken trades (confidence
    >= threshold and `execute`) have the best per-trade Sortino in R, taking at least `min_taken`
    of the rows. 0.0 (keep every executed row) when no candidate takes enough."""
    from algospace.sim.metrics import sortino

    best, best_score = 0.0, -math.inf
    need = max(2, int(math.ceil(min_taken * len(r))))
    for thr in np.unique(np.quantile(confidence, THRESHOLD_QUANTILES)) if len(r) else []:
        take = (confidence >= thr) & execute
        if take.sum() < need:
            continue
        s = sortino(r[take])
        s = s if math.isfinite(s) else (1e9 if s > 0 else -1e9)
        if s > best_score:
            best, best_score = float(thr), s
    return best


def _run_key(cfg: CoreTrainConfig, data: CoreData, upstream: dict[str, Any]) -> str:
    # the budget and the epoch cap may change between an interrupted run and its resumption (as for train mrms)
    knobs = cfg.model_dump(mode="json", exclude={"max_minutes", "max_epochs", "threads", "device"})
    # the rows themselves, not only the bars: a checkpoint from another labelling never resumes
    h = hashlib.sha256(data.r.tobytes())
    for k in INPUT_NAMES:
        h.update(data.inputs[k].tobytes())
    h.update(data.risk.tobytes())
    return sha256_json({"cfg": knobs, "data": data.data_fingerprint, "rows": h.hexdigest(), "upstream": upstream})


@dataclass
class CoreTrainResult:
    model: DecisionCoreModel
    metrics: dict[str, Any]
    history: list[dict[str, float]]
    data: CoreData
    threshold: float


def split_metrics(model: DecisionCoreModel, data: CoreData, name: str, cfg: CoreTrainConfig, threshold: float) -> dict[str, Any]:
    """Losses and what the decision rule takes, on one split (fresh-account outcomes; calibration: eval core)."""
    idx = data.part(name)
    s = score(model, data, idx, cfg.mc_passes, cfg.seed)
    r, win = data.r[idx], data.win[idx]
    take = (s["confidence"] >= threshold) & (s["gate"] > 0.5)
    with torch.no_grad():
        x = batch_inputs(data, idx)
        pol, gate = losses(model.eval(), x, torch.from_numpy(data.risk[idx]), torch.from_numpy(win),
                           torch.from_numpy(_weights(r)))
    return {
        "signals": int(len(idx)), "policy_bce": float(pol), "gate_wbce": float(gate), "win_rate": float(win.mean()),
        "mean_r_all": float(r.mean()), "taken_share": float(take.mean()),
        "mean_r_taken": float(r[take].mean()) if take.any() else float("nan"),
        "mean_confidence": float(s["confidence"].mean()),
    }


def _weights(r: np.ndarray) -> np.ndarray:
    a = np.abs(r).astype(np.float32)
    return a / max(float(a.mean()), 1e-9)


def fit_core(data: CoreData, cfg: CoreTrainConfig, checkpoint: Path | None = None, progress: bool = True,
             upstream: dict[str, Any] | None = None) -> CoreTrainResult:
    """Train on prepared data; resumes from `checkpoint` when it holds the same run."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    tr, va = data.part("train"), data.part("val")
    win = torch.from_numpy(data.win)
    weight = torch.from_numpy(_weights(data.r))
    risk = torch.from_numpy(data.risk)
    steps_per_epoch = math.ceil(len(tr) / cfg.batch_size)
    run_key = _run_key(cfg, data, upstream or {})

    model = DecisionCoreModel(CoreConfig(dropout=cfg.dropout)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state = _read_checkpoint(checkpoint, run_key) if checkpoint is not None else None
    start_epoch, step, best, bad_epochs, history, best_state = restore(state, model, opt, gen)
    if state is not None:
        log.info("resuming decision-core training at epoch %d from %s", start_epoch, checkpoint)

    def val_loss() -> float:
        with torch.no_grad():
            model.eval()
            pol, gate = losses(model, batch_inputs(data, va, device), risk[va].to(device), win[va].to(device), weight[va].to(device))
        return float(pol + cfg.gate_weight * gate)

    t0 = time.monotonic()
    stop_reason = "max_epochs"
    bar = progress_bar(progress)
    task = bar.add_task("train core", total=steps_per_epoch * cfg.max_epochs, completed=step, info="") if bar else None
    try:
        for epoch in range(start_epoch, cfg.max_epochs):
            if bad_epochs >= cfg.patience:
                stop_reason = "early_stopping"
                break
            epoch_start = time.monotonic()
            model.train()
            order = tr[torch.randperm(len(tr), generator=gen).numpy()]
            ep_loss = 0.0
            for b in range(steps_per_epoch):
                rows = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                pol, gate = losses(model, batch_inputs(data, rows, device), risk[rows].to(device), win[rows].to(device),
                                   weight[rows].to(device))
                loss = pol + cfg.gate_weight * gate
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                step += 1
                ep_loss += loss.item() * len(rows)
                if bar:
                    bar.update(task, advance=1, info=f"epoch {epoch + 1} loss {loss.item():.4f}")
            v = val_loss()
            history.append({"epoch": epoch + 1, "train_loss": ep_loss / len(tr), "val_loss": v})
            log.info("epoch %d: %s", epoch + 1, history[-1])
            if v < best:
                best, bad_epochs = v, 0
                best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
            else:
                bad_epochs += 1
            if checkpoint is not None:
                _save_checkpoint(checkpoint, snapshot(run_key, model, opt, best_state, gen, epoch + 1, step, best, bad_epochs, history))
            if over_budget(t0, time.monotonic() - epoch_start, cfg.max_minutes):
                stop_reason = "time_budget"
                break
        else:
            stop_reason = "early_stopping" if bad_epochs >= cfg.patience else "max_epochs"
    finally:
        if bar:
            bar.stop()
    if best_state is not None:
        model.load_state_dict(best_state)
    model = model.cpu().eval()

    # the initiate threshold, chosen on validation only
    sv = score(model, data, va, cfg.mc_passes, cfg.seed)
    threshold = choose_threshold(sv["confidence"], sv["gate"] > 0.5, data.r[va], cfg.min_taken)
    metrics: dict[str, Any] = {name: split_metrics(model, data, name, cfg, threshold) for name in SPLITS}
    metrics.update({"epochs": len(history), "stop_reason": stop_reason, "train_seconds": round(time.monotonic() - t0, 1),
                    "best_val_loss": best if math.isfinite(best) else float("nan"), "device": str(device),
                    "initiate_threshold": threshold})
    return CoreTrainResult(model=model, metrics=metrics, history=history, data=data, threshold=threshold)


def artifact_record(path: str | Path, manifest: Any) -> dict[str, Any]:
    """Which upstream artifact was used: path, provenance, creation time, weights checksum, spec."""
    return {"path": str(path), "kind": manifest.kind, "provenance": manifest.provenance,
            "created_at": manifest.created_at.isoformat(), "files": dict(manifest.files),
            "feature_spec_fingerprint": manifest.feature_spec_fingerprint}


def train_core(bars: Any, rde: Any, risk_manager: Any, out: str | Path, cfg: CoreTrainConfig | None = None,
               progress: bool = True, rde_path: str | Path | None = None, mrms_path: str | Path | None = None) -> CoreTrainResult:
    """Bars + a loaded RDE engine + RiskManager -> trained decision-core artifact at `out` (provenance `trained`).

    The artifact carries the RDE's feature-spec fingerprint (every model of a run shares it) and a
    training.json with the split, the metrics, the initiate threshold and which RDE / M-RMS it used.
    """
    from algospace.artifacts import save_artifact
    from algospace.artifacts.layout import extras_writer

    cfg = cfg or CoreTrainConfig()
    resolve_device(cfg.device)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory; give a directory path for the artifact.")
    data = prepare_core_data(bars, rde, risk_manager, cfg.train_fraction, cfg.val_fraction, cfg.instrument,
                             cfg.data_start, cfg.data_end)
    upstream = {"rde": artifact_record(rde_path or "", rde.manifest), "mrms": artifact_record(mrms_path or "", risk_manager.manifest)}
    ckpt = checkpoint_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = fit_core(data, cfg, checkpoint=ckpt, progress=progress,
                      upstream={k: v["files"] for k, v in upstream.items()})
    spec_fp = rde.feature_spec.fingerprint
    notes = []
    rde_test = (rde.training.get("split_boundaries") or {}).get("test")
    if rde_test and data.boundaries["test"] < rde_test:
        notes.append(f"the core's test split starts {data.boundaries['test'][:10]}, before the RDE's ({rde_test[:10]}): "
                     "the RDE saw part of the core's test period in its training")
    days = data.paths.day[data.rows]
    details = {
        "instrument": cfg.instrument,
        "proxy": data.market.proxy,
        "signals": "components",
        "label": "R of the M-RMS proposal (fresh account) through sim.simulate_ticks; policy: P(R > 0); gate: |R|-weighted",
        "split_boundaries": data.boundaries,
        "split_days": {name: [str(np.datetime64(int(days[data.split == c].min()), "ns"))[:10],
                              str(np.datetime64(int(days[data.split == c].max()), "ns"))[:10]]
                       for c, name in enumerate(SPLITS)},
        "counts": data.counts,
        "initiate_threshold": result.threshold,
        "execute_threshold": 0.5,
        "mc_passes": cfg.mc_passes,
        "metrics": result.metrics,
        "history": result.history,
        "train_config": cfg.model_dump(mode="json"),
        "rde": upstream["rde"],
        "mrms": upstream["mrms"],
        "sim": risk_manager.sim_config.model_dump(mode="json"),
        "account": risk_manager.account_config.model_dump(mode="json"),
    }
    bars_used = data.market.bars
    metadata = {
        "feature_spec_fingerprint": spec_fp,
        "training_data": {
            "fingerprint": data.data_fingerprint,
            "start": bars_used.index[0].to_pydatetime(),
            "end": bars_used.index[-1].to_pydatetime(),
            "description": f"{len(data.rows)} component signals on {data.market.proxy}; split by trading day "
            f"{cfg.train_fraction:.0%} train / {cfg.val_fraction:.0%} val / rest test",
        },
        "training_metrics": flat_metrics(result.metrics),
        "seed": cfg.seed,
        "notes": notes,
    }

    save_artifact(result.model, out, kind="core", provenance="trained", metadata=metadata,
                  write_extra=extras_writer(training=details))
    if result.metrics["stop_reason"] != "time_budget":
        ckpt.unlink(missing_ok=True)
    return result


__all__ = ["CoreTrainResult", "fit_core", "train_core", "score", "choose_threshold", "losses", "batch_inputs"]
