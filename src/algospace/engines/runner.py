"""The one protocol every inference backend of an engine follows, and its one parity check.

A backend (oneDNN or AOTInductor kernels, ONNX Runtime, a replayed CUDA graph) is a callable
over batches of numpy inputs that serves some shapes faster than eager PyTorch. It is built
from a loaded, verified model and, before its first use, checked against that model's eager
output on fixed probe batches (`check_parity`); then it serves exactly what `accepts` says
and the engine runs everything else eagerly. A new model's engine gets every backend by
handing each its eager function and following this protocol: numpy in, numpy out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from algospace.errors import ArtifactError
from algospace.models.registry import probe_input


@runtime_checkable
class Runner(Protocol):
    """A fast path for some input shapes: float32 numpy batch in, float32 numpy batch out."""

    name: str  # what `engine.backend` reports, e.g. "torch+onednn", "onnxruntime"
    max_abs_diff: float  # the largest difference from the eager model seen by `check_parity`

    def accepts(self, batch: np.ndarray) -> bool:
        """Whether this batch takes the fast path (its shape and dtype are the ones it was built for)."""
        ...

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """The model's output for `batch`, as the eager model would give it (within `max_abs_diff`)."""
        ...


def check_parity(
    candidate: Callable[[np.ndarray], np.ndarray | torch.Tensor],
    eager: Callable[[torch.Tensor], torch.Tensor],
    shapes: tuple[tuple[int, ...], ...],
    *,
    atol: float,
    what: str,
    device: torch.device | str = "cpu",
) -> float:
    """Run `candidate` and the `eager` model on a fixed probe batch of each shape; return the
    largest absolute difference, or raise ArtifactError when it exceeds `atol`."""
    diff = 0.0
    for shape in shapes:
        x = probe_input(shape, torch.device("cpu"))
        got = candidate(x.numpy())
        got = got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
        with torch.inference_mode():
            expected = eager(x.to(device)).cpu().numpy()
        diff = max(diff, float(np.abs(got - expected).max()))
    if not diff <= atol:  # also catches NaN
        raise ArtifactError(f"The {what} disagrees with the eager model by {diff:.2e} (> {atol}); use the eager path.")
    return diff


__all__ = ["Runner", "check_parity"]
