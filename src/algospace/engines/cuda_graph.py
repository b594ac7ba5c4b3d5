"""Replay a captured CUDA graph for single windows on a GPU.

Why: one 48-bar window is ~230 MFLOP, which a modern GPU finishes in microseconds; the
eager call is bound by launching ~30 kernels from Python (0.79 ms on an H200,
docs/benchmarks.md). A CUDA graph records those launches once and replays them with one
call. PyTorch's `torch.cuda.CUDAGraph` does the recording; this class only owns the static
input/output buffers it needs and the check against the eager model.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from algospace.engines.runner import check_parity
from algospace.errors import ArtifactError
from algospace.models.rde import RegimeVAE

log = logging.getLogger(__name__)


class CudaGraphRunner:
    """A `Runner`: (1, window, F) float32 -> (1, latent) float32 that replays one CUDA graph.

    Serves exactly one shape, batch 1 at the trained window (`accepts` says so); other
    shapes run eagerly. Not thread-safe: the graph reads one static input buffer, so calls
    from several threads must be serialised by the caller (as with any single engine).
    """

    def __init__(self, model: RegimeVAE, window: int, atol: float = 1e-4) -> None:
        device = next(model.parameters()).device
        if device.type != "cuda":
            raise ValueError(f"CUDA graphs need a model on a CUDA device; this one is on {device}.")
        self.shape = (1, window, model.config.input_dim)
        self._input = torch.zeros(self.shape, device=device)
        self._graph = torch.cuda.CUDAGraph()
        with torch.inference_mode():
            side = torch.cuda.Stream(device)  # warm-up on a side stream, as capture requires
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):
                for _ in range(3):
                    model.regime_vector(self._input)
            torch.cuda.current_stream(device).wait_stream(side)
            with torch.cuda.graph(self._graph):
                self._output = model.regime_vector(self._input)
        self.max_abs_diff = check_parity(
            self, model.regime_vector, (self.shape,), atol=atol, what="CUDA graph", device=device
        )

    name = "torch+cuda-graph"

    def accepts(self, batch: np.ndarray) -> bool:
        return batch.shape == self.shape

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self._input.copy_(torch.from_numpy(batch))
        self._graph.replay()
        return self._output.cpu().numpy()  # a fresh host array: the static output is reused


def try_cuda_graph(model: RegimeVAE, window: int) -> CudaGraphRunner | None:
    """A runner, or None (logged) where this model or driver cannot be captured."""
    try:
        return CudaGraphRunner(model, window)
    except (RuntimeError, ArtifactError) as exc:  # capture refuses host syncs in some torch paths
        log.warning("CUDA graph capture failed (%s); single windows run eagerly on the GPU.", exc)
        return None
