"""Run the RDE's inference path with ONNX Runtime (optional extra: `pip install algospace[onnx]`).

Why: on small CPU inputs (one 48-bar window) ONNX Runtime's MLAS kernels and fused
attention/LayerNorm run the same weights about 1.6x faster than eager PyTorch on this
project's machines (docs/benchmarks.md). The graph is exported in memory from the loaded,
verified model at engine load; nothing is read from or written to disk, and the exported
graph is checked against the PyTorch model before use.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch

from algospace.engines.runner import check_parity
from algospace.errors import InputError
from algospace.models.rde import RegimeVAE


class _RegimeVectorPath(torch.nn.Module):
    """The exported function: window batch (B, T, F) -> posterior mean (B, latent)."""

    def __init__(self, model: RegimeVAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.regime_vector(x)


class OnnxRuntimeBackend:
    """A `Runner`: (B, window, F) float32 -> (B, latent) float32 backed by an ONNX Runtime session.

    The exported attention graph fixes the window length T (the batch size stays free), so the
    graph serves one T: the engine's trained window. `accepts(batch)` says whether it applies.
    A session's intra-op thread count is fixed when it is made, so single windows run a session
    with `threads` and batches one with `batch_threads` when that differs (engines.threads).
    """

    def __init__(
        self, model: RegimeVAE, window: int, threads: int | None = None, atol: float = 1e-4, batch_threads: int | None = None
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise InputError("backend='onnxruntime' needs the optional extra: pip install 'algospace[onnx]'.") from exc
        cfg = model.config
        self.window = window
        example = torch.zeros(3, window, cfg.input_dim)  # the export traces shapes only
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation chatter is not the user's business
            torch.onnx.export(
                _RegimeVectorPath(model).eval(), (example,), buffer, input_names=["x"], output_names=["mu"],
                dynamic_axes={"x": {0: "batch"}, "mu": {0: "batch"}}, dynamo=False,
            )

        def session(n: int) -> "ort.InferenceSession":
            options = ort.SessionOptions()
            options.intra_op_num_threads = n
            return ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

        self.threads = threads or torch.get_num_threads()
        self.batch_threads = batch_threads or self.threads
        self._session = session(self.threads)
        self._batch_session = self._session if self.batch_threads == self.threads else session(self.batch_threads)
        self.max_abs_diff = check_parity(  # B = 1 and B = 3: both sessions
            self, model.regime_vector, ((1, window, cfg.input_dim), (3, window, cfg.input_dim)), atol=atol,
            what="ONNX Runtime graph",
        )

    name = "onnxruntime"

    def accepts(self, batch: np.ndarray) -> bool:
        return batch.shape[1] == self.window

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return (self._session if batch.shape[0] == 1 else self._batch_session).run(None, {"x": batch})[0]
