"""RegimeDetectionEngine: load a trained RDE artifact and turn feature windows into regime vectors.

The engine owns what the pure model does not: loading and verifying the artifact and its
fitted feature spec, the device, input validation, batching and inference mode.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from algospace.data.bars import BARS_COLUMNS
from algospace.data.loaders import TICKS_COLUMNS
from algospace.data.session_bars import data_instrument
from algospace.engines.threads import ThreadPolicy, aoti_threads, intra_op_threads, resolve_policy, threads_for
from algospace.errors import ArtifactError, InputError
from algospace.features.regime.window import window_view
from algospace.models.rde import RegimeVAE

if TYPE_CHECKING:
    from algospace.artifacts.format import Manifest
    from algospace.engines.runner import Runner
    from algospace.features import FeatureSpec

log = logging.getLogger(__name__)

BACKENDS = ("torch", "torch-eager", "torch-aoti", "torch-bf16", "onnxruntime", "onnxruntime-int8")
CPU_ONLY_BACKENDS = ("torch-aoti", "torch-bf16", "onnxruntime", "onnxruntime-int8")  # device "auto" -> cpu


class RegimeDetectionEngine:
    """Window of T bars x F regime features -> 8-d regime vector (the posterior mean).

    Example:
        >>> engine = RegimeDetectionEngine.load("runs/demo/models/rde")
        >>> engine.get_regime_vector(window)          # (T, 155) -> (8,)
        >>> engine.regime_series(bars_30m)            # DataFrame of vectors, one per bar
    """

    def __init__(
        self,
        model: RegimeVAE,
        manifest: Manifest | None,
        feature_spec: FeatureSpec,
        device: torch.device,
        training: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.manifest = manifest
        self.feature_spec = feature_spec
        self.device = device
        self.training = training or {}  # the artifact's training.json: window, instrument, splits, metrics
        self.allow_spec_mismatch = False  # set by load(..., allow_spec_mismatch=True); flagged in manifest.warnings
        self._runner: Runner | None = None  # the fast path for some shapes (engines.runner); the rest runs eager
        self.backend_name = "torch-eager"  # the BACKENDS name it was loaded with (recorded by `train core`)
        self.threads: ThreadPolicy = resolve_policy(None)  # intra-op threads per call (engines.threads)
        self._cfg = model.config

    # --- construction -------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | Path,
        device: str = "auto",
        allow_untrained: bool = False,
        feature_spec_fingerprint: str | None = None,
        allow_spec_mismatch: bool = False,
        backend: str = "torch",
        threads: ThreadPolicy | None = None,
    ) -> "RegimeDetectionEngine":
        """Load and verify an RDE artifact directory (weights, config, manifest, feature spec).

        `feature_spec_fingerprint`: the spec your features are built with; an artifact trained
        on another is refused unless `allow_spec_mismatch` (then flagged in `manifest.warnings`).
        `backend` (all run the same verified weights; each fast path is checked against the
        eager model at load and serves single windows of the trained length, the rest eager):
          - "torch" (default): on the CPU, oneDNN kernels on prepacked weights (instant, ~0.6x
            eager latency); on a GPU, a replayed CUDA graph; eager where neither applies.
          - "torch-eager": plain eager PyTorch.
          - "torch-aoti": PyTorch AOTInductor, compiled at load (CPU, needs a C++ compiler,
            10-25 s): the fastest PyTorch path for single windows.
          - "torch-bf16": the oneDNN path in bfloat16 (CPU with AVX512-BF16 or AMX): an
            approximation of the fp32 model checked at load within its own tolerance
            (`engines.torch_fast.BF16_ATOL`); opt-in (docs/runtime.md says why).
          - "onnxruntime": ONNX Runtime (CPU, extra `onnx`).
          - "onnxruntime-int8": ONNX Runtime on a dynamically int8-quantized graph (CPU, extra
            `onnx`): faster GEMMs, an approximation of the fp32 model checked at load within its
            own tolerance (`engines.onnx_backend.INT8_ATOL`); what `train core` records by default
            where ONNX Runtime is installed, so a models set runs it everywhere (docs/runtime.md).
          With `device="auto"` the CPU-only backends (`CPU_ONLY_BACKENDS`) load on the CPU.
        `threads`: intra-op CPU threads per call, for every backend (default: the config's
        `engine.threads`: one thread for a single window, which keeps p99 low when other
        processes load the cores, and every core for a batch). The caller's own
        `torch.get_num_threads()` is restored after each call.
        """
        if backend not in BACKENDS:
            raise InputError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}.")
        from algospace.artifacts import load_artifact
        from algospace.artifacts.layout import TRAINING_FILE, read_feature_spec, read_training, require_extras

        if device == "auto" and backend in CPU_ONLY_BACKENDS:
            device = "cpu"  # these backends run on the CPU whatever GPU the machine has
        model, manifest = load_artifact(
            path, device=device, allow_untrained=allow_untrained, kind="rde",
            feature_spec_fingerprint=feature_spec_fingerprint, allow_spec_mismatch=allow_spec_mismatch,
        )
        path = Path(path)
        require_extras(path, manifest)
        spec = read_feature_spec(path, manifest)
        if spec.width != model.config.input_dim:
            raise ArtifactError(f"RDE artifact {path}: feature width {spec.width} != model input {model.config.input_dim}.")
        training = read_training(path)
        dev = next(model.parameters()).device
        engine = cls(model, manifest, spec, dev, training)
        try:
            engine._check_window(engine.window, f"{TRAINING_FILE} window")
        except InputError as exc:
            raise ArtifactError(f"RDE artifact {path}: {exc}") from exc
        engine.allow_spec_mismatch = allow_spec_mismatch
        engine.threads = resolve_policy(threads)  # before the backends: ORT sessions and AOTI code fix their threads
        engine.backend_name = backend
        if backend in ("onnxruntime", "onnxruntime-int8"):
            engine.use_onnxruntime(precision="int8" if backend.endswith("int8") else "fp32")
        elif backend == "torch-aoti":
            engine.use_torch_fast("aoti")
        elif backend == "torch-bf16":
            engine.use_torch_fast("onednn", precision="bf16")
        elif backend == "torch" and dev.type == "cuda":
            engine.use_cuda_graph()
        elif backend == "torch" and dev.type == "cpu":
            engine.use_torch_fast("onednn", required=False)
        return engine

    def use_torch_fast(self, mode: str = "onednn", required: bool = True, precision: str = "fp32") -> bool:
        """Serve CPU windows of the trained length with a fast PyTorch path (`engines.torch_fast`):
        "onednn" (instant; single windows and batches) or "aoti" (compiled, 10-25 s; single
        windows, batches on oneDNN); `precision="bf16"` runs the oneDNN path in bfloat16. With
        `required=False` a path that cannot be built is logged and eager PyTorch stays."""
        from algospace.engines.torch_fast import FastRegimeVector

        if self.device.type != "cpu":
            raise InputError(f"backend 'torch-{mode}' runs on the CPU; this engine is on {self.device}. Load with device='cpu'.")
        try:
            # AOTI bakes its OpenMP thread count into the code it writes: the single-window count.
            with aoti_threads(self.threads.single) if mode == "aoti" else contextlib.nullcontext():
                self._runner = FastRegimeVector(self.model, self.window, mode, precision=precision)
        except Exception as exc:  # an optional accelerator: any failure to build it means eager
            if required:
                raise
            log.warning("fast PyTorch path unavailable (%s); single windows run eager PyTorch.", exc)
            self._runner = None
        return self._runner is not None

    def use_onnxruntime(self, threads: int | None = None, precision: str = "fp32") -> None:
        """Run inference with ONNX Runtime on the same (verified) weights; CPU only. `threads`
        fixes one intra-op thread count for every call; by default `self.threads` applies.
        `precision="int8"` quantizes the graph's GEMM weights to int8 (engines.onnx_backend).

        The graph is built for the trained window length; windows of another T run on PyTorch.
        """
        from algospace.engines.onnx_backend import OnnxRuntimeBackend

        if self.device.type != "cpu":
            raise InputError(f"backend='onnxruntime' runs on the CPU; this engine is on {self.device}. Load with device='cpu'.")
        self._runner = OnnxRuntimeBackend(
            self.model, window=self.window, threads=threads or self.threads.single,
            batch_threads=threads or threads_for(self.threads, 2), precision=precision,
        )

    def use_cuda_graph(self) -> bool:
        """Replay a captured CUDA graph for single windows of the trained length (done by
        `load` on a CUDA device). Returns False, and keeps eager PyTorch, if capture fails."""
        from algospace.engines.cuda_graph import try_cuda_graph

        if self.device.type != "cuda":
            raise InputError(f"CUDA graphs need a CUDA device; this engine is on {self.device}.")
        self._runner = try_cuda_graph(self.model, self.window)
        return self._runner is not None

    @property
    def backend(self) -> str:
        """What serves single windows of the trained length: "torch-eager", "torch+onednn",
        "torch+cuda-graph", "torch-aoti", "torch-bf16", "onnxruntime" or "onnxruntime-int8" (other shapes run
        eager PyTorch)."""
        return "torch-eager" if self._runner is None else self._runner.name

    # --- properties ---------------------------------------------------------------------
    @property
    def num_parameters(self) -> int:
        """Parameters on the inference path (2,477,072 for the default config)."""
        return self.model.encoder_parameters()

    @property
    def window(self) -> int:
        """The window length the model was trained with."""
        return self.training.get("window", 48)

    @property
    def latent_dim(self) -> int:
        return self._cfg.latent_dim

    # --- validation ---------------------------------------------------------------------
    def _check(self, x: Any, rank: int, what: str) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            raise InputError(f"{what} must be a numpy array; got a torch.Tensor (call .cpu().numpy() first).")
        if isinstance(x, np.ma.MaskedArray):
            raise InputError(f"{what} must be a plain numpy array; got a masked array (fill or drop masked values first).")
        if not isinstance(x, np.ndarray):
            raise InputError(f"{what} must be a numpy array of shape {self._shape_text(rank)}; got {type(x).__name__}.")
        if x.dtype.kind not in "fiu":  # float, signed, unsigned: no bool, timedelta, datetime, str, object
            raise InputError(f"{what} must hold real numbers (float or int); got dtype {x.dtype}.")
        if x.ndim != rank:
            raise InputError(f"{what} must have rank {rank}, shape {self._shape_text(rank)}; got shape {x.shape}.")
        t, f = x.shape[-2], x.shape[-1]
        width = self._cfg.input_dim
        if f != width:
            raise InputError(f"{what} must have {width} features (the feature spec's width) in its last axis; got {f}.")
        self._check_window(t, "window length T" if what == "window" else f"{what}: window length T")
        if rank == 3 and x.shape[0] == 0:
            raise InputError(f"{what} is empty (shape {x.shape}); expected at least one window.")
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.ascontiguousarray(x, dtype=np.float32)
        # Checked after the cast: a float64 value beyond float32's range becomes inf here.
        if not np.isfinite(out).all():
            bad = np.argwhere(~np.isfinite(out))[0].tolist()
            raise InputError(
                f"{what} holds NaN, inf or a value beyond float32 range (first at index {bad}); features must be finite."
            )
        beyond = self._beyond_range(out)
        if beyond is not None:
            raise InputError(
                f"{what} holds {out[tuple(beyond)]:.6g} at index {beyond}, outside the feature spec's range "
                f"[-{self.input_limit:g}, {self.input_limit:g}] (its features are clipped there): these are not features "
                "of this spec. Build them with engine.features(bars) or the spec's transform."
            )
        return out

    @property
    def input_limit(self) -> float:
        """The largest |value| a feature of this engine's spec takes: inputs beyond it are refused."""
        return float(self.feature_spec.params.clip)

    def _beyond_range(self, values: np.ndarray) -> list[int] | None:
        """Index of the first value outside +-input_limit, or None (values must be finite)."""
        limit = np.float32(self.input_limit)
        if values.size == 0 or (values.max() <= limit and values.min() >= -limit):
            return None
        return np.argwhere(np.abs(values) > limit)[0].tolist()

    def _check_window(self, t: Any, what: str) -> int:
        lo, hi = self._cfg.min_window, min(self._cfg.max_window, self._cfg.max_len)
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not lo <= t <= hi:
            raise InputError(f"{what} must be an int in [{lo}, {hi}]; got T={t!r}.")
        return int(t)

    @staticmethod
    def _check_batch_size(batch_size: Any) -> int:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size must be an int >= 1; got {batch_size!r}.")
        return int(batch_size)

    def _shape_text(self, rank: int) -> str:
        return "(T, F)" if rank == 2 else "(B, T, F)"

    # --- inference ----------------------------------------------------------------------
    def _encode(self, batch: np.ndarray) -> np.ndarray:
        if self._runner is not None and self._runner.accepts(batch):
            out = self._runner(batch)
        else:
            with torch.inference_mode():
                x = torch.from_numpy(batch)
                if self.device.type != "cpu":
                    x = x.to(self.device)
                out = self.model.regime_vector(x).cpu().numpy()
        if not np.isfinite(out).all():  # never hand a trader a NaN: the model, not the input, is broken
            raise ArtifactError(
                f"The RDE ({self.backend}) answered finite, in-range features with NaN/inf; its weights are broken. "
                "Verify the artifact (algospace models verify) and restore or re-train it."
            )
        return out

    def get_regime_vector(self, window: np.ndarray) -> np.ndarray:
        """One window (T, F) -> regime vector (latent_dim,) float32."""
        x = self._check(window, 2, "window")
        with intra_op_threads(self.threads.single):
            return self._encode(x[None])[0]

    def get_regime_vectors(self, batch: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """A batch (B, T, F) -> (B, latent_dim) float32, processed in chunks of `batch_size`."""
        x = self._check(batch, 3, "batch")
        batch_size = self._check_batch_size(batch_size)
        with intra_op_threads(threads_for(self.threads, min(len(x), batch_size))):
            return np.concatenate([self._encode(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])

    def features(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Ticks or bars (1- to 30-minute) -> the 155 features under this artifact's fitted spec.

        The 30-minute bars follow the sessions of the data's own instrument (`attrs`), else
        the one the artifact was trained on. A version-2 spec also reads the 1-minute bars inside
        each 30-minute bar, so it needs ticks or 1-minute bars (coarser bars: InputError saying so).
        """
        from algospace.features.regime.inputs import session_features

        instrument = data_instrument(None, bars) if isinstance(bars, pd.DataFrame) else None
        return session_features(self.feature_spec, bars, instrument or self.training.get("instrument"))

    def regime_series(self, bars_or_features: pd.DataFrame, window: int | None = None, batch_size: int = 256) -> pd.DataFrame:
        """The regime vector at every bar with a full causal window (window ending at that bar).

        Given ticks or bars (1- to 30-minute), features are built with the artifact's fitted spec. Given
        features, they must come from that spec (`engine.features(...)` or the spec's
        `transform`, whose output carries the spec fingerprint in `attrs`).
        """
        if not isinstance(bars_or_features, pd.DataFrame):
            raise InputError(f"regime_series expects a DataFrame of bars or features; got {type(bars_or_features).__name__}.")
        t = self._check_window(self.window if window is None else window, "regime_series window")
        batch_size = self._check_batch_size(batch_size)
        names = list(self.feature_spec.names)
        frame = bars_or_features
        if list(frame.columns) == names:
            built_under = frame.attrs.get("feature_spec_fingerprint")
            if built_under != self.feature_spec.fingerprint and not self.allow_spec_mismatch:
                raise InputError(
                    f"These features were built under feature spec {str(built_under)[:12]} but this RDE was trained on "
                    f"{self.feature_spec.fingerprint[:12]}; pass bars instead (the engine builds features with its own "
                    "spec), or features from engine.features(bars)."
                )
            if not frame.index.is_monotonic_increasing or not frame.index.is_unique:
                raise InputError("regime_series needs feature rows in strictly increasing timestamp order.")
            feats = frame
        elif set(BARS_COLUMNS) <= set(frame.columns) or set(TICKS_COLUMNS) <= set(frame.columns):
            feats = self.features(frame)
        else:
            raise InputError(
                f"regime_series needs bars ({', '.join(BARS_COLUMNS)}), ticks ({', '.join(TICKS_COLUMNS)}) "
                "or the spec's feature columns."
            )
        if len(feats) < t:
            raise InputError(f"regime_series needs at least {t} feature rows for one window; got {len(feats)}.")
        if not all(dt.kind == "f" for dt in feats.dtypes):
            raise InputError("regime_series needs float feature columns; found non-float dtypes.")
        values = feats.to_numpy(np.float32)
        if not np.isfinite(values).all():
            r, c = np.argwhere(~np.isfinite(values))[0]
            raise InputError(f"feature {feats.columns[c]!r} is not finite at {feats.index[r]}; no NaN may reach the model.")
        beyond = self._beyond_range(values)
        if beyond is not None:
            r, c = beyond
            raise InputError(
                f"feature {feats.columns[c]!r} is {values[r, c]:.6g} at {feats.index[r]}, outside the feature spec's "
                f"range [-{self.input_limit:g}, {self.input_limit:g}]; pass bars, or features from engine.features(bars)."
            )
        view = window_view(values, t)  # (N, T, F), no copy: batches are copied one at a time
        with intra_op_threads(threads_for(self.threads, min(len(view), batch_size))):
            out = np.concatenate(
                [self._encode(np.ascontiguousarray(view[i : i + batch_size])) for i in range(0, len(view), batch_size)]
            )
        cols = [f"regime_{i}" for i in range(out.shape[1])]
        return pd.DataFrame(out, index=feats.index[t - 1 :], columns=cols)
