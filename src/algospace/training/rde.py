"""Train the Regime Detection Engine: a beta-VAE on causal windows of the 155 regime features.

Reads top to bottom: data (30-minute bars, chronological split, feature spec fitted on the
training part only, windows that straddle a split dropped), model init (scratch or resume),
one loop (lr schedule, KL annealing, forward/backward, clip, step, evaluate, checkpoint,
early stop), then the artifact.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from algospace.data.bars import BARS_COLUMNS
from algospace.devices import resolve_device
from algospace.errors import DataError, InputError
from algospace.hashing import sha256_json
from algospace.features.regime.window import window_view
from algospace.io import atomic_write_with
from algospace.models.rde import RDEConfig, RegimeVAE, elbo_terms, temporal_contrastive, window_summary
from algospace.training.loop import FitResult, optimizer_step, progress_task
from algospace.training.rde_config import RDETrainConfig
from algospace.training.resume import restore, snapshot

if TYPE_CHECKING:
    from algospace.features import FeatureSpec

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass
class RDEData:
    """Windows and their split, ready for training. Built by `prepare_rde_data`."""

    spec: FeatureSpec  # fitted on the training part
    features: pd.DataFrame  # (rows, F) features of every bar after warm-up
    windows: dict[str, np.ndarray]  # split -> (N, T, F) float32
    window_ends: dict[str, pd.DatetimeIndex]
    boundaries: dict[str, pd.Timestamp]  # first bar of val and of test
    data_fingerprint: str
    date_range: tuple[str, str]
    bars_30m: int = 0
    instrument: str = ""  # whose sessions the 30-minute bars follow
    extra: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, np.ndarray] | None = None  # split -> (N, 2F) decoder targets; None: the window's own summary


def data_fingerprint(bars: pd.DataFrame) -> str:
    """sha256 of the bar timestamps and OHLCV values: identifies the training data."""
    h = hashlib.sha256()
    h.update(bars.index.asi8.tobytes())
    h.update(np.ascontiguousarray(bars[list(BARS_COLUMNS)].to_numpy(np.float64)).tobytes())
    return h.hexdigest()


def _windows_by_split(
    features: pd.DataFrame, window: int, stride: int, boundaries: dict[str, pd.Timestamp], horizon: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, pd.DatetimeIndex], dict[str, np.ndarray] | None]:
    """Causal windows (ending at bar t, reading rows <= t); a window straddling a split is dropped.

    With `horizon` H > 0 each window also gets a decoder target, the mean and std of the
    features over bars t+1..t+H. That target is used in training only (the model never sees it
    as input). A window whose next H bars leave its split is dropped, so no target reads
    across a split boundary.
    """
    values = features.to_numpy(np.float32)
    if len(values) < window:
        raise DataError(f"Only {len(values)} feature rows after warm-up; a window needs {window}. Use more data.")
    idx = features.index
    split_of = np.zeros(len(idx), dtype=np.int8)
    split_of[idx >= boundaries["val"]] = 1
    split_of[idx >= boundaries["test"]] = 2
    view = window_view(values, window)  # (N-T+1, T, F), no copy
    ends = np.arange(window - 1, len(values))
    same = split_of[ends - window + 1] == split_of[ends]
    if horizon:
        last = np.minimum(ends + horizon, len(values) - 1)
        same &= (ends + horizon < len(values)) & (split_of[last] == split_of[ends])
        ahead = window_view(values, horizon)  # ahead[j] = rows j..j+H-1
    out: dict[str, np.ndarray] = {}
    out_ends: dict[str, pd.DatetimeIndex] = {}
    targets: dict[str, np.ndarray] = {}
    for code, name in enumerate(SPLITS):
        keep = np.flatnonzero(same & (split_of[ends] == code))
        keep = keep[:: stride]
        out[name] = np.ascontiguousarray(view[keep])  # (N, T, F)
        out_ends[name] = idx[ends[keep]]
        if horizon:
            future = ahead[ends[keep] + 1]  # (N, H, F): the H bars after each window
            targets[name] = np.concatenate([future.mean(axis=1), future.std(axis=1)], axis=1).astype(np.float32)
    return out, out_ends, (targets if horizon else None)


def prepare_rde_data(
    bars: pd.DataFrame, instrument: str | None, cfg: RDETrainConfig, spec: FeatureSpec | None = None
) -> RDEData:
    """Bars -> 30-minute bars -> chronological split -> spec fitted on train only -> windows.

    `instrument=None` takes the data's own (`bars.attrs["instrument"]`); the artifact records it.
    """
    from algospace.data.session_bars import data_instrument, session_bars
    from algospace.features import FeatureSpec
    from algospace.features.regime.inputs import minute_bars_for

    inst = data_instrument(instrument, bars)
    if inst is None:
        raise InputError("The bars name no instrument (attrs['instrument']); pass instrument= (e.g. 'ES', 'SPY').")
    bars30 = session_bars(bars, 30, inst)
    n = len(bars30)
    i_val, i_test = int(n * cfg.train_fraction), int(n * (cfg.train_fraction + cfg.val_fraction))
    if i_val < 1 or i_test <= i_val or i_test >= n:
        raise DataError(f"{n} 30-minute bars are too few to split {cfg.train_fraction}/{cfg.val_fraction}/rest.")
    boundaries = {"val": bars30.index[i_val], "test": bars30.index[i_test]}
    # feature selection (v1/v2): version 2 also reads the 1-minute bars inside each 30-minute bar
    fitted = spec if spec is not None else FeatureSpec.default(cfg.feature_version)
    minutes = minute_bars_for(bars, inst) if fitted.needs_minute_bars else None
    if spec is None:
        fitted.fit(bars30.iloc[:i_val], minute_bars=minutes)
    features = fitted.transform(bars30, minute_bars=minutes)
    windows, ends, targets = _windows_by_split(features, cfg.window, cfg.stride, boundaries, cfg.target_horizon)
    for name in SPLITS:
        if len(windows[name]) == 0:
            raise DataError(
                f"The {name} split holds no complete {cfg.window}-bar window; use more data or a smaller window."
            )
    return RDEData(
        spec=fitted,
        features=features,
        windows=windows,
        window_ends=ends,
        boundaries=boundaries,
        data_fingerprint=data_fingerprint(bars30),
        date_range=(bars30.index[0].isoformat(), bars30.index[-1].isoformat()),
        bars_30m=n,
        instrument=inst.name,
        targets=targets,
    )


def model_config(cfg: RDETrainConfig, input_dim: int) -> RDEConfig:
    """The architecture for this training config and feature width."""
    return cfg.model.to_config(input_dim)


@torch.no_grad()
def evaluate_windows(
    model: RegimeVAE, windows: np.ndarray, beta: float, batch_size: int = 256, targets: np.ndarray | None = None
) -> dict[str, float]:
    """Reconstruction, KL, ELBO loss, active latent dimensions and the input-blind baseline.

    `targets` (N, 2F): the decoder's targets when they are not the windows' own summaries.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rec_sum, kl_sum, mus, wanted = 0.0, 0.0, [], []
    for start in range(0, len(windows), batch_size):
        x = torch.from_numpy(windows[start : start + batch_size]).to(device)
        y = window_summary(x) if targets is None else torch.from_numpy(targets[start : start + batch_size]).to(device)
        rec, kl, mu = elbo_terms(model, x, target=y)
        rec_sum += rec.item() * len(x)
        kl_sum += kl.item() * len(x)
        mus.append(mu.cpu())
        wanted.append(y.cpu())
    model.train(was_training)
    n = len(windows)
    mu_all = torch.cat(mus)
    target = torch.cat(wanted)
    # The best an input-blind model can do is to predict the mean summary: its MSE is the
    # summaries' variance. A ratio well below 1 means the encoder reads its input.
    blind = ((target - target.mean(dim=0)) ** 2).mean().item()
    active = int((mu_all.var(dim=0) > 0.01).sum().item()) if n > 1 else 0  # Burda et al.'s activity test
    rec, kl = rec_sum / n, kl_sum / n
    return {
        "recon": rec,
        "kl": kl,
        "loss": rec + beta * kl,
        "blind_recon": blind,
        "recon_vs_blind": rec / blind if blind > 0 else float("nan"),
        "active_dims": active,
        "windows": n,
    }


def _lr_at(step: int, total: int, cfg: RDETrainConfig) -> float:
    """Linear warm-up then cosine decay to 10 % of the peak."""
    warm = max(1, int(total * cfg.warmup_fraction))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _beta_at(epoch: int, cfg: RDETrainConfig) -> float:
    if cfg.kl_anneal_epochs == 0:
        return cfg.beta
    return cfg.beta * min(1.0, (epoch + 1) / cfg.kl_anneal_epochs)


def _run_key(cfg: RDETrainConfig, data: RDEData) -> str:
    """Identifies a run: a checkpoint resumes only the same config on the same data and spec."""
    # The wall-clock budget, thread count and device do not change what a step computes (up
    # to float noise on a GPU): a run stopped by its budget resumes under a larger one, anywhere.
    knobs = cfg.model_dump(mode="json", exclude={"max_minutes", "threads", "device"})
    return sha256_json({"cfg": knobs, "data": data.data_fingerprint, "spec": data.spec.fingerprint})


def over_budget(t0: float, last_seconds: float, max_minutes: float) -> bool:
    """True when one more step as long as the last (`last_seconds`) would end past the budget."""
    return (time.monotonic() - t0 + last_seconds) / 60.0 > max_minutes


def checkpoint_path(out: Path) -> Path:
    """Where an interrupted run keeps its state: a sibling of the artifact directory."""
    return out.parent / f".{out.name}.ckpt.pt"


_CHECKPOINT_KEYS = ("run_key", "model", "optimizer", "best_model", "generator", "torch_rng", "epoch", "step", "best",
                    "bad_epochs", "history")


def _read_checkpoint(path: Path, run_key: str, keys: tuple[str, ...] = _CHECKPOINT_KEYS) -> dict[str, Any] | None:
    """The checkpoint's state when it belongs to this run; None (with a warning) otherwise.

    An unreadable or foreign checkpoint never blocks training: it is ignored and overwritten
    after the first epoch. Loaded with weights_only=True only.
    """
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, garbage, or holding something beyond tensors
        log.warning("ignoring unreadable checkpoint %s (%s); starting from scratch", path, type(exc).__name__)
        return None
    if not isinstance(state, dict) or any(k not in state for k in keys):
        log.warning("ignoring checkpoint %s: not a training checkpoint of this model; starting from scratch", path)
        return None
    if state["run_key"] != run_key:
        log.warning("checkpoint %s belongs to another run (config or data differ); starting from scratch", path)
        return None
    return state


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomic: a run killed mid-save keeps its previous checkpoint."""
    atomic_write_with(path, lambda tmp: torch.save(state, tmp))


def _split_targets(data: RDEData, split: str) -> np.ndarray | None:
    return None if data.targets is None else data.targets[split]


@dataclass
class TrainResult(FitResult[RegimeVAE, RDEData]):
    """An RDE fit: the best-validation VAE on the CPU, metrics per split, per-epoch history."""


def fit_rde(
    data: RDEData,
    cfg: RDETrainConfig,
    checkpoint: Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train on prepared windows; resumes from `checkpoint` when it holds the same run."""
    # --- setup ---------------------------------------------------------------------------
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)  # seeds CUDA too (dropout on a GPU draws from its own generator)
    gen = torch.Generator().manual_seed(cfg.seed)
    train = torch.from_numpy(data.windows["train"])
    train_targets = torch.from_numpy(data.targets["train"]) if data.targets is not None else None
    n_train = len(train)
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.max_epochs
    run_key = _run_key(cfg, data)
    # Training windows of a split are consecutive, `stride` bars apart: a window's contrastive
    # partner (ending `contrast_gap` bars later) is `partner` rows further on.
    partner = max(1, round(cfg.contrast_gap / cfg.stride)) if cfg.contrastive > 0 and n_train > 2 else 0
    partner = min(partner, n_train - 1)

    # --- init: scratch or resume ------------------------------------------------------------
    model = RegimeVAE(model_config(cfg, data.features.shape[1])).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state = _read_checkpoint(checkpoint, run_key) if checkpoint is not None else None
    # best_state: set once an epoch at the final beta is scored
    start_epoch, step, best, bad_epochs, history, best_state = restore(state, model, opt, gen)
    if state is not None:
        log.info("resuming RDE training at epoch %d from %s", start_epoch, checkpoint)

    # --- one loop ---------------------------------------------------------------------------
    t0 = time.monotonic()
    stop_reason = "max_epochs"
    epoch_seconds = 0.0
    with progress_task(progress, "train rde", total_steps, step) as advance:
        for epoch in range(start_epoch, cfg.max_epochs):
            if bad_epochs >= cfg.patience:
                stop_reason = "early_stopping"
                break
            beta = _beta_at(epoch, cfg)
            epoch_start = time.monotonic()
            model.train()
            order = torch.randperm(n_train, generator=gen)
            ep_rec, ep_kl = 0.0, 0.0
            for b in range(steps_per_epoch):
                for group in opt.param_groups:
                    group["lr"] = _lr_at(step, total_steps, cfg)
                rows = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                if partner:  # half the batch are anchors, the other half their partners `partner` windows later
                    anchors = rows[: max(1, len(rows) // 2)].clamp(max=n_train - 1 - partner)
                    rows = torch.cat([anchors, anchors + partner])
                x = train[rows].to(device, non_blocking=True)
                y = train_targets[rows].to(device, non_blocking=True) if train_targets is not None else None
                rec, kl, mu = elbo_terms(model, x, target=y)
                loss = rec + beta * kl
                if partner:
                    loss = loss + cfg.contrastive * temporal_contrastive(*mu.chunk(2))
                optimizer_step(model, opt, loss, cfg.grad_clip)
                step += 1
                ep_rec += rec.item() * len(x)
                ep_kl += kl.item() * len(x)
                advance(f"epoch {epoch + 1} rec {rec.item():.4f} kl {kl.item():.3f}")
            val = evaluate_windows(model, data.windows["val"], cfg.beta, targets=_split_targets(data, "val"))
            history.append(
                {"epoch": epoch + 1, "beta": beta, "train_recon": ep_rec / n_train, "train_kl": ep_kl / n_train,
                 "val_recon": val["recon"], "val_kl": val["kl"], "val_loss": val["loss"], "val_active_dims": val["active_dims"]}
            )
            log.info("epoch %d: %s", epoch + 1, history[-1])
            # Early stopping only counts once the KL weight is at its final value, so the
            # validation ELBO compared is the same objective from epoch to epoch.
            if epoch + 1 >= cfg.kl_anneal_epochs and val["loss"] < best:
                best, bad_epochs = val["loss"], 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            elif epoch + 1 >= cfg.kl_anneal_epochs:
                bad_epochs += 1
            if checkpoint is not None:
                _save_checkpoint(checkpoint, snapshot(run_key, model, opt, best_state, gen, epoch + 1, step, best, bad_epochs, history))
            # Stop when another epoch like the last one would overrun the budget, so a run ends
            # within --max-minutes rather than up to one epoch after it.
            epoch_seconds = time.monotonic() - epoch_start
            if over_budget(t0, epoch_seconds, cfg.max_minutes):
                stop_reason = "time_budget"
                break
        else:
            stop_reason = "early_stopping" if bad_epochs >= cfg.patience else "max_epochs"

    # --- evaluate the best model on every split ----------------------------------------------
    notes: list[str] = []
    if best_state is None:
        # Stopped before beta reached its final value: no epoch was scored on the final
        # objective, so the last epoch's weights (not the random initial ones) are kept.
        notes.append("stopped before KL annealing finished; the last epoch's weights are kept")
    else:
        model.load_state_dict(best_state)
    model.eval()  # scored on the training device, returned on the CPU (artifacts are device-free)
    metrics: dict[str, Any] = {
        name: evaluate_windows(model, data.windows[name], cfg.beta, targets=_split_targets(data, name)) for name in SPLITS
    }
    metrics.update(
        {"epochs": len(history), "stop_reason": stop_reason, "train_seconds": round(time.monotonic() - t0, 1),
         "best_val_loss": best if math.isfinite(best) else metrics["val"]["loss"]}
    )
    metrics["device"] = str(device)
    if notes:
        metrics["notes"] = notes
    return TrainResult(model=model.cpu(), metrics=metrics, history=history, data=data)


def flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Nested numeric metrics -> {"test.recon": 0.12, ...} for the manifest (numbers only)."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": float(v) for k, v in value.items() if isinstance(v, (int, float)) and math.isfinite(v)})
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            flat[key] = float(value)
    return flat


def train_rde(
    bars: pd.DataFrame,
    out: str | Path,
    cfg: RDETrainConfig | None = None,
    instrument: str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Bars (1- or 30-minute) or ticks -> features -> trained RDE artifact at `out` (provenance `trained`).

    `instrument=None` takes the data's own (`bars.attrs["instrument"]`, set by `sample()` and
    `make_bars`); InputError when neither names one.
    """
    from algospace.artifacts import save_artifact
    from algospace.artifacts.layout import extras_writer

    cfg = cfg or RDETrainConfig()
    resolve_device(cfg.device)  # a missing GPU is reported before minutes of feature building
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory; give a directory path for the artifact.")
    data = prepare_rde_data(bars, instrument, cfg)
    instrument = data.instrument
    ckpt = checkpoint_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = fit_rde(data, cfg, checkpoint=ckpt, progress=progress)
    details = {
        "instrument": instrument,
        "window": cfg.window,
        "split_boundaries": {k: v.isoformat() for k, v in data.boundaries.items()},
        "bars_30m": data.bars_30m,
        "metrics": result.metrics,
        "history": result.history,
        "train_config": cfg.model_dump(mode="json"),
    }
    metadata = {
        "feature_spec_fingerprint": data.spec.fingerprint,
        "training_data": {
            "fingerprint": data.data_fingerprint,
            "start": data.date_range[0],
            "end": data.date_range[1],
            "description": f"{data.bars_30m} 30-minute {instrument} bars; split {cfg.train_fraction:.0%} train / "
            f"{cfg.val_fraction:.0%} val / rest test",
        },
        "training_metrics": flat_metrics(result.metrics),
        "seed": cfg.seed,
        "notes": list(result.metrics.get("notes", [])),
    }

    save_artifact(result.model, out, kind="rde", provenance="trained", metadata=metadata,
                  write_extra=extras_writer(feature_spec=data.spec, training=details))
    if result.metrics["stop_reason"] != "time_budget":
        ckpt.unlink(missing_ok=True)  # a budget-stopped run keeps it: rerun with more --max-minutes to continue
    return result


__all__ = ["RDEData", "TrainResult", "prepare_rde_data", "fit_rde", "train_rde", "evaluate_windows",
           "data_fingerprint", "checkpoint_path", "model_config"]
