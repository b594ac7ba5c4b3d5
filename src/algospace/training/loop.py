"""What every training loop here shares (RDE, M-RMS, decision core): the progress bar, one
optimizer step with gradient clipping, and the result a fit returns.

The checkpoint state lives in `training.resume`; the loops themselves stay in their modules,
since what an epoch computes is each model's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch

ModelT = TypeVar("ModelT")
DataT = TypeVar("DataT")


@dataclass
class FitResult(Generic[ModelT, DataT]):
    """A trained model (on the CPU), its metrics per split, the per-epoch history and the data it saw."""

    model: ModelT
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    data: DataT


def progress_bar(enabled: bool):  # -> rich.progress.Progress | None
    """A started rich bar with an `info` field, or None when progress is off."""
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   TextColumn("{task.fields[info]}"), transient=False)
    bar.start()
    return bar


@contextmanager
def progress_task(enabled: bool, description: str, total: int, completed: int) -> Iterator[Callable[[str], None]]:
    """One task on a `progress_bar`, stopped on the way out even when training raises; yields
    `advance(info)`, which moves it one unit (a no-op when progress is off)."""
    bar = progress_bar(enabled)
    task = bar.add_task(description, total=total, completed=completed, info="") if bar else None

    def advance(info: str) -> None:
        if bar:
            bar.update(task, advance=1, info=info)

    try:
        yield advance
    finally:
        if bar:
            bar.stop()


def optimizer_step(model: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float) -> None:
    """Backward, clip the global gradient norm to `grad_clip`, step."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
