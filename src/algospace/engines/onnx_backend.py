"""Run the RDE's inference path with ONNX Runtime (optional extra: `pip install algospace[onnx]`).

Why: on small CPU inputs (one 48-bar window) ONNX Runtime's MLAS kernels and fused
attention/LayerNorm run the same weights about 1.6x faster than eager PyTorch on this
project's machines (docs/benchmarks.md). The graph is exported in memory from the loaded,
verified model at engine load; the exported graph is checked against the PyTorch model
before use.

`precision="int8"` (backend "onnxruntime-int8"): the exported graph is quantized with ONNX
Runtime's own dynamic quantization (`onnxruntime.quantization.quantize_dynamic`: weights of
every MatMul/Gemm stored as signed int8, per tensor; activations quantized per call from their
observed range), so the GEMMs run on the CPU's integer dot-product units (AVX512-VNNI here).
It approximates the fp32 model: its load-time parity check has its own stated tolerance,
`INT8_ATOL`, never the fp32 one. Why a library: quantization (calibration-free scales, the
integer kernels, the graph rewrite) is exactly what it does and is well kept; hand-written
int8 GEMMs would not beat MLAS. The quantizer works on files, so the graph passes once through
a temporary directory that is removed at once.
"""

from __future__ import annotations

import io
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from algospace.engines.runner import check_parity
from algospace.errors import InputError
from algospace.models.rde import RegimeVAE

PRECISIONS = ("fp32", "int8")
# int8 dynamic quantization moves regime vectors by up to ~2e-2 on real SPY windows and ~5e-3 on the
# load check's probe (default-size RDEs: docs/runtime.md, "RDE backends"); a difference beyond this
# means a broken graph, not rounding. The fp32 graph keeps the 1e-4 check.
INT8_ATOL = 5e-2


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
        self, model: RegimeVAE, window: int, threads: int | None = None, atol: float | None = None,
        batch_threads: int | None = None, precision: str = "fp32",
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise InputError("backend='onnxruntime' needs the optional extra: pip install 'algospace[onnx]'.") from exc
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {PRECISIONS}; got {precision!r}.")
        cfg = model.config
        self.precision = precision
        self.name = "onnxruntime" if precision == "fp32" else f"onnxruntime-{precision}"
        self.window = window
        example = torch.zeros(3, window, cfg.input_dim)  # the export traces shapes only
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation chatter is not the user's business
            torch.onnx.export(
                _RegimeVectorPath(model).eval(), (example,), buffer, input_names=["x"], output_names=["mu"],
                dynamic_axes={"x": {0: "batch"}, "mu": {0: "batch"}}, dynamo=False,
            )
        graph = buffer.getvalue() if precision == "fp32" else quantize_int8(buffer.getvalue())

        def session(n: int) -> "ort.InferenceSession":
            options = ort.SessionOptions()
            options.intra_op_num_threads = n
            return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

        self.threads = threads or torch.get_num_threads()
        self.batch_threads = batch_threads or self.threads
        self._session = session(self.threads)
        self._batch_session = self._session if self.batch_threads == self.threads else session(self.batch_threads)
        self.max_abs_diff = check_parity(  # B = 1 and B = 3: both sessions
            self, model.regime_vector, ((1, window, cfg.input_dim), (3, window, cfg.input_dim)),
            atol=atol if atol is not None else (1e-4 if precision == "fp32" else INT8_ATOL),
            what=f"ONNX Runtime graph ({precision})",
        )

    def accepts(self, batch: np.ndarray) -> bool:
        return batch.shape[1] == self.window

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return (self._session if batch.shape[0] == 1 else self._batch_session).run(None, {"x": batch})[0]


class _DropPreprocessHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def quantize_int8(graph: bytes) -> bytes:
    """An fp32 ONNX graph -> the same graph with dynamically quantized int8 MatMul/Gemm weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the quantizer logs advice to run its shape-inference pre-pass first; the graph is quantized as
    # exported (its error is what the parity check and docs/runtime.md measure), so the hint is noise
    hint = _DropPreprocessHint()
    root = logging.getLogger()
    root.addFilter(hint)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            src.write_bytes(graph)
            quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=False)
            return dst.read_bytes()
    finally:
        root.removeFilter(hint)
