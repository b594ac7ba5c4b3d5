"""The checkpoint state of a training loop, in one place: what is saved each epoch and how a
run resumes from it (the keys `training.rde._read_checkpoint` checks).

Used by `train rde`, `train mrms` (which adds its numpy generator) and `train core`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import torch


def snapshot(run_key: str, model: torch.nn.Module, opt: torch.optim.Optimizer, best_state: dict[str, torch.Tensor] | None,
             gen: torch.Generator, epoch: int, step: int, best: float, bad_epochs: int,
             history: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything a resumed run needs to continue exactly (tensors and plain values only)."""
    return {"run_key": run_key, "model": model.state_dict(), "optimizer": opt.state_dict(), "best_model": best_state or {},
            "generator": gen.get_state(), "torch_rng": torch.get_rng_state(), "epoch": epoch, "step": step, "best": best,
            "bad_epochs": bad_epochs, "history": json.dumps(history)}


def restore(state: dict[str, Any] | None, model: torch.nn.Module, opt: torch.optim.Optimizer,
            gen: torch.Generator) -> tuple[int, int, float, int, list[dict[str, Any]], dict[str, torch.Tensor] | None]:
    """Load a `snapshot` into model, optimizer and generators; returns (epoch, step, best,
    bad_epochs, history, best_state). `None` state: a fresh run's values."""
    if state is None:
        return 0, 0, math.inf, 0, [], None
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    gen.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return (state["epoch"], state["step"], state["best"], state["bad_epochs"], json.loads(state["history"]),
            state["best_model"] or None)
