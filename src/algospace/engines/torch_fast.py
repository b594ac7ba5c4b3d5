"""Faster PyTorch CPU inference for one RDE window (B=1), in the model's own fp32 math.

Why: for one 48-bar window the encoder is thirteen small-M (M = T = 48) GEMMs plus a few
dozen small ops. Eager PyTorch runs the GEMMs through MKL's sgemm inside the fused
encoder-layer op (about 110-120 GFLOP/s on our 2-core AMD EPYC) and pays Python/dispatcher
time per op; ONNX Runtime was ~1.6x faster. Two paths, both real PyTorch backends:

* "aoti" (default): AOTInductor. The encoder is written with F.* ops (torch.export and
  inductor cannot see inside the fused encoder-layer op), exported for the (1, window, F)
  shape and compiled at build time with freezing. In AOT mode inductor packs fp32 weights
  for oneDNN's AVX-512 brgemm (150-190 GFLOP/s here) with bias, GELU and residual adds fused
  into the GEMMs, fuses add+LayerNorm into C++ kernels, uses the flash CPU attention kernel
  and runs it all from a C++ wrapper with planned buffers. Measured on this machine: ~0.9x
  ONNX Runtime's p50, ~0.55x eager (benchmarks/rde_latency_ideas.py). Costs 10-25 s and a C++
  compiler at build; nothing is written outside a temporary directory and inductor's cache.
* "onednn": the same kernels called by hand from Python (`torch.ops.mkldnn._linear_pointwise`
  on weights reordered once for M = window, fused bias/GELU/residual post-ops, 4-D SDPA):
  no compile, ~1.0-1.15x ONNX Runtime, ~0.6x eager. Used when AOTI cannot compile.

Not used (measured, no gain): torch.compile (inductor packs fp32 linears for MKL when shapes
are static, and with max-autotune its CPP GEMM template lost to MKL/oneDNN on every 48-row
GEMM), MKL packed GEMM by hand, TorchScript, one intra-op thread (no gain on an idle machine;
engines.threads uses it for single windows because it keeps the tail down under load).

Batches (B > 1) of the same T run the oneDNN path in either mode: with all B*T rows in each
GEMM it reaches ~90 % of the FLOP-limited rate at B = 256 where eager reaches 54-68 %.

`precision="bf16"` (engine backend "torch-bf16", opt-in): the oneDNN path with bfloat16 weights
and activations (AVX512-BF16 GEMMs; LayerNorm, softmax and the head in bf16 too), about twice
the GEMM rate of fp32 in theory. It approximates the fp32 model, so its build-time parity check
uses its own stated tolerance, `BF16_ATOL`, never the fp32 one.

Each path is checked against the eager model at build (max abs diff <= atol, ~1e-7 seen).
Only (B, window, F) float32 CPU input takes a fast path; any other T runs the eager model,
so callers never get a wrong answer. The weights are a snapshot: rebuild after changing them.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from algospace.engines.runner import check_parity
from algospace.errors import InputError
from algospace.models.rde import RegimeVAE

log = logging.getLogger(__name__)

_GELU = 2  # TransformerEncoderLayer.activation_relu_or_gelu for "gelu"
# bf16 keeps 8 bits of mantissa: regime vectors move by up to ~2.5e-2 on real SPY windows and ~8e-3 on
# the load check's probe (default-size RDEs: docs/runtime.md, "RDE backends"); beyond this the path is broken.
BF16_ATOL = 5e-2
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def _unsupported(model: RegimeVAE) -> str | None:
    """Why the hand-written path cannot reproduce this model, or None when it can."""
    if not torch.backends.mkldnn.is_available():
        return "this PyTorch build has no oneDNN (mkldnn)"
    if next(model.parameters()).device.type != "cpu" or next(model.parameters()).dtype != torch.float32:
        return "the model is not float32 on the CPU"
    for layer in model.transformer.layers:
        attn = layer.self_attn
        if layer.norm_first or getattr(layer, "activation_relu_or_gelu", 0) != _GELU:
            return "an encoder layer is not post-norm with GELU"
        if not (attn.batch_first and attn._qkv_same_embed_dim and attn.in_proj_bias is not None):
            return "an attention block is not the batch-first, fused-QKV, biased layout"
    return None


class _EncoderGraph(torch.nn.Module):
    """regime_vector (no padding mask) in F.* ops, so export and inductor see every linear."""

    def __init__(self, model: RegimeVAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        b, t, _ = x.shape
        d, h = m.config.d_model, m.config.n_heads
        z = m.input_projection(x) + m.pos_encoder.pe[:t]  # (B, T, d_model)
        for layer in m.transformer.layers:
            attn = layer.self_attn
            qkv = F.linear(z, attn.in_proj_weight, attn.in_proj_bias)  # (B, T, 3 d_model)
            q, k, v = qkv.view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4).unbind(0)  # each (B, h, T, hd)
            a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, d)  # (B, T, d_model)
            z = layer.norm1(z + attn.out_proj(a))
            z = layer.norm2(z + layer.linear2(F.gelu(layer.linear1(z))))
        return m.fc_mu(m.pool(z))  # (B, latent); the model's own read-out (config.pooling)


# Loading the compiled package of the reference-size model crashed the process (segfault in
# torch/export/pt2_archive/_package.py:_load_aoti) under torch 2.11.0+cu130 on an Intel Xeon
# host, while the tiny test model loaded; 2.13 works here. A crash cannot be caught, so older
# torch is refused up front rather than risked.
AOTI_MIN_TORCH = (2, 13)


def _torch_version() -> tuple[int, int]:
    major, minor = torch.__version__.split("+")[0].split(".")[:2]
    return int(major), int(minor)


def _compile_aoti(
    model: RegimeVAE, window: int, torch_version: tuple[int, int] | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Export the (1, window, F) encoder and AOT-compile it with frozen, oneDNN-packed weights."""
    import torch._inductor

    found = torch_version or _torch_version()
    if found < AOTI_MIN_TORCH:
        raise RuntimeError(
            f"the AOTInductor path needs torch >= {'.'.join(map(str, AOTI_MIN_TORCH))} (found {'.'.join(map(str, found))}: "
            "loading its compiled package crashed the process under 2.11)"
        )

    probe = torch.zeros(1, window, model.config.input_dim)
    with torch.no_grad(), warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")  # inductor's internal deprecation chatter is not the user's business
        program = torch.export.export(_EncoderGraph(model).eval(), (probe,))
        path = torch._inductor.aoti_compile_and_package(
            program, package_path=str(Path(tmp) / "rde_encoder.pt2"), inductor_configs={"freezing": True}
        )
        loader = torch._inductor.aoti_load_package(path).loader
    # The package's __call__ re-parses its input/output tree spec (JSON) on every call, ~15 us;
    # one tensor in, one out needs no tree, so call the loader directly.
    return lambda x: loader.run([x])[0]


class FastRegimeVector:
    """A `Runner`: window batch (B, window, F) float32 (numpy or torch) -> regime vectors (B, latent) numpy.

    Build with `fast_regime_vector(model, window, mode)`. `mode` is the path in use ("aoti",
    "onednn" or "eager" when neither applies); `accepts(x)` says whether x takes it.
    """

    def __init__(self, model: RegimeVAE, window: int, mode: str = "auto", atol: float | None = None,
                 precision: str = "fp32") -> None:
        if mode not in ("auto", "aoti", "onednn"):
            raise InputError(f"mode must be 'auto', 'aoti' or 'onednn'; got {mode!r}.")
        if precision not in _DTYPES or (precision != "fp32" and mode != "onednn"):
            raise InputError(f"precision must be 'fp32' or, with mode='onednn', 'bf16'; got {precision!r} with mode {mode!r}.")
        self.precision = precision
        self._dtype = _DTYPES[precision]
        atol = atol if atol is not None else (1e-5 if precision == "fp32" else BF16_ATOL)
        if model.training:
            raise InputError("fast_regime_vector needs a model in eval mode (dropout off); call model.eval() first.")
        cfg = model.config
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or not 1 <= window <= cfg.max_len:
            raise InputError(f"window must be an int in [1, {cfg.max_len}] (the positional table); got {window!r}.")
        self.model = model
        self.window = int(window)
        self.max_abs_diff = 0.0
        reason = _unsupported(model)
        if reason is not None:
            if mode != "auto":
                raise InputError(f"mode={mode!r} cannot run this model: {reason}. Use mode='auto' (eager fallback).")
            log.info("RDE fast path off (%s); single windows run the eager model.", reason)
            self.mode = "eager"
            return
        t, d, h = self.window, cfg.d_model, cfg.n_heads
        self._shape = (t, d, h, d // h)
        self._run: Callable[[torch.Tensor], torch.Tensor] = self._onednn
        self.mode = "onednn"
        if mode in ("auto", "aoti"):
            try:
                self._run = _compile_aoti(model, t)
                self.mode = "aoti"
            except Exception as exc:  # any compile failure (no C++ compiler, ...) means: fall back
                if mode == "aoti":
                    raise InputError(f"AOTInductor could not compile the RDE encoder ({exc}); use mode='onednn'.") from exc
                log.warning("AOTInductor compile failed (%s); the RDE fast path uses hand-called oneDNN kernels.", exc)
        with torch.no_grad():
            self._build(model, t)  # batches (B > 1) run the oneDNN path in either mode
        width = cfg.input_dim
        self.max_abs_diff = max(
            check_parity(lambda x: self._run(torch.from_numpy(x)), model.regime_vector, ((1, t, width),),
                         atol=atol, what=f"{self.mode} fast path ({precision})"),
            check_parity(lambda x: self._onednn(torch.from_numpy(x)), model.regime_vector, ((5, t, width),),
                         atol=atol, what=f"oneDNN batch path ({precision})"),
        )

    def _build(self, model: RegimeVAE, t: int) -> None:
        """Snapshot the weights, reordered once for M = t rows (oneDNN's blocked layout)."""

        dtype = self._dtype

        def pack(w: torch.Tensor) -> torch.Tensor:
            return torch.ops.mkldnn._reorder_linear_weight(w.detach().to(dtype).contiguous(), t)

        def vec(b: torch.Tensor) -> torch.Tensor:
            return b.detach().to(dtype).clone().contiguous()

        proj = model.input_projection
        self._w_in = pack(proj.weight)
        # The positions are added right after the projection: fold them with its bias into one residual term.
        self._pos_bias = vec(proj.bias.detach() + model.pos_encoder.pe[:t])  # (t, d_model)
        self._layers = []
        for layer in model.transformer.layers:
            attn = layer.self_attn
            self._layers.append((
                pack(attn.in_proj_weight), vec(attn.in_proj_bias),
                pack(attn.out_proj.weight), vec(attn.out_proj.bias),
                pack(layer.linear1.weight), vec(layer.linear1.bias),
                pack(layer.linear2.weight), vec(layer.linear2.bias),
                vec(layer.norm1.weight), vec(layer.norm1.bias), layer.norm1.eps,
                vec(layer.norm2.weight), vec(layer.norm2.bias), layer.norm2.eps,
            ))
        head = model.fc_mu.net
        self._head = (vec(head[0].weight), vec(head[0].bias), vec(head[3].weight), vec(head[3].bias))

    def _onednn(self, x: torch.Tensor) -> torch.Tensor:
        """(B, t, F) -> (B, latent); all B*t rows go through each GEMM at once."""
        t, d, h, hd = self._shape
        b = x.shape[0]
        linear = torch.ops.mkldnn._linear_pointwise
        x = x.to(self._dtype)  # a no-op in fp32
        if b == 1:  # positions + bias fused into the projection as one residual term
            z = linear.binary(x.reshape(t, -1), self._pos_bias, self._w_in, None, "add")  # (t, d)
        else:  # no (B*t, d) copy of the positions: one broadcast add instead
            z = linear(x.reshape(b * t, -1), self._w_in, None, "none", [], "")
            z.view(b, t, d).add_(self._pos_bias)  # (B*t, d)
        for w_qkv, b_qkv, w_o, b_o, w_1, b_1, w_2, b_2, g1, be1, eps1, g2, be2, eps2 in self._layers:
            qkv = linear(z, w_qkv, b_qkv, "none", [], "")  # (B*t, 3d)
            q, k, v = qkv.view(b, t, 3, h, hd).permute(2, 0, 3, 1, 4).unbind(0)  # each (B, h, t, hd)
            a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b * t, d)  # (B*t, d)
            z = F.layer_norm(linear.binary(a, z, w_o, b_o, "add"), (d,), g1, be1, eps1)  # norm1(z + attn)
            f = linear(z, w_1, b_1, "gelu", [], "none")  # (B*t, d_ff), exact (erf) GELU
            z = F.layer_norm(linear.binary(f, z, w_2, b_2, "add"), (d,), g2, be2, eps2)  # norm2(z + ff)
        w1, b1, w2, b2 = self._head
        # the model's own read-out (config.pooling), in fp32 (its weights are fp32; a no-op on the fp32 path)
        c = self.model.pool(z.view(b, t, d).float()).to(z.dtype)  # (B, d)
        return F.linear(F.relu(F.linear(c, w1, b1)), w2, b2).float()  # (B, latent)

    @property
    def name(self) -> str:
        """The engine's name for this path: "torch-aoti", "torch+onednn", "torch-bf16" or "torch-eager"."""
        if self.precision == "bf16" and self.mode == "onednn":
            return "torch-bf16"
        return {"aoti": "torch-aoti", "onednn": "torch+onednn"}.get(self.mode, "torch-eager")

    def accepts(self, x: Any) -> bool:
        """True when x takes a fast path: (B, window, F) float32, B >= 1, and a fast mode is on."""
        return (
            self.mode != "eager"
            and x.ndim == 3
            and x.shape[0] >= 1
            and tuple(x.shape[1:]) == (self.window, self.model.config.input_dim)
            and x.dtype in (np.float32, torch.float32)
        )

    def __call__(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        width = self.model.config.input_dim
        if not isinstance(x, (np.ndarray, torch.Tensor)) or x.ndim != 3 or x.shape[-1] != width:
            found = f"shape {tuple(x.shape)}" if hasattr(x, "shape") else type(x).__name__
            raise InputError(f"expected a window batch of shape (B, T, {width}); got {found}.")
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) if isinstance(x, np.ndarray) else x
        with torch.inference_mode():
            if self.accepts(xt) and xt.device.type == "cpu":
                # B = 1 takes the compiled graph in "aoti" mode; batches take the oneDNN GEMMs.
                return (self._run if xt.shape[0] == 1 else self._onednn)(xt.contiguous()).numpy()
            return self.model.regime_vector(xt.float()).cpu().numpy()


def fast_regime_vector(model: RegimeVAE, window: int = 48, mode: str = "auto") -> FastRegimeVector:
    """Wrap a loaded eval RegimeVAE: (B, window, F) batches run a fast path, other T eager.

    mode: "auto" (AOTInductor, else hand-called oneDNN, else eager), "aoti" or "onednn".

    Example:
        >>> fast = fast_regime_vector(engine.model, engine.window)   # compiles: 10-25 s
        >>> fast(window[None])          # (1, 48, 155) float32 -> numpy (1, 8)
    """
    return FastRegimeVector(model, window, mode)
