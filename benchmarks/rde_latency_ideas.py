"""Latency ideas: single-window (B=1, T=48) CPU experiments behind engines/torch_fast.py (issue 5).

Each idea is timed interleaved against eager torch and a raw ONNX Runtime session in the same
process (rounds with sleeps, as in bench_rde.py), so only same-run ratios are reported.

    .venv/bin/python benchmarks/rde_latency_ideas.py IDEA [IDEA ...] [--reps 300]

IDEA: fast (torch_fast, AOTI), fast_onednn, mkldnn, mkldnn_nofuse, mkl, plain, inductor, inductor_max, fn_eager, fn_inductor,
      fn_inductor_max, fn_inductor_max_cpp, fn_inductor_dyn, fn_inductor_dyn_cpp, aoti, aoti_default (run inductor ideas one per process)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rde import matmul_rate, model_flops, onnx_session, timeit

from algospace.engines.onnx_backend import _RegimeVectorPath as _Encoder
from algospace.models.rde import RDEConfig, RegimeVAE

T, W = 48, 155


# --- idea: hand-written forward over prepacked oneDNN / MKL weights --------------------------
def packed_forward(model: RegimeVAE, t: int, kind: str = "mkldnn", fuse: bool = True):
    """2-D (T, d) forward with weights prepacked once for M=t rows."""
    cfg = model.config
    h, d = cfg.n_heads, cfg.d_model
    hd = d // h
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}

    if kind == "mkldnn":
        def pack(w):
            return torch.ops.mkldnn._reorder_linear_weight(w, t)

        def lin(x, wp, w, b, attr="none"):
            return torch.ops.mkldnn._linear_pointwise(x, wp, b, attr, [], "none" if attr == "gelu" else "")

        def lin_add(x, other, wp, w, b):
            return torch.ops.mkldnn._linear_pointwise.binary(x, other, wp, b, "add")
    elif kind == "mkl":
        def pack(w):
            return torch.ops.mkl._mkl_reorder_linear_weight(w, t)

        def lin(x, wp, w, b, attr="none"):
            y = torch.ops.mkl._mkl_linear(x, wp, w, b, t)
            return F.gelu(y) if attr == "gelu" else y

        def lin_add(x, other, wp, w, b):
            return torch.ops.mkl._mkl_linear(x, wp, w, b, t).add_(other)
    else:  # plain F.linear reference
        def pack(w):
            return w

        def lin(x, wp, w, b, attr="none"):
            y = F.linear(x, w, b)
            return F.gelu(y) if attr == "gelu" else y

        def lin_add(x, other, wp, w, b):
            return F.linear(x, w, b).add_(other)

    def P(name):
        w = sd[name]
        return (pack(w), w)

    inp = (*P("input_projection.weight"), sd["input_projection.bias"])
    pe_b = (sd["input_projection.bias"] + model.pos_encoder.pe[:t]).contiguous()  # bias + positions, (t, d)
    layers = []
    for i in range(cfg.n_layers):
        p = f"transformer.layers.{i}."
        layers.append({
            "qkv": (*P(p + "self_attn.in_proj_weight"), sd[p + "self_attn.in_proj_bias"]),
            "out": (*P(p + "self_attn.out_proj.weight"), sd[p + "self_attn.out_proj.bias"]),
            "l1": (*P(p + "linear1.weight"), sd[p + "linear1.bias"]),
            "l2": (*P(p + "linear2.weight"), sd[p + "linear2.bias"]),
            "n1": (sd[p + "norm1.weight"], sd[p + "norm1.bias"]),
            "n2": (sd[p + "norm2.weight"], sd[p + "norm2.bias"]),
            "eps": model.transformer.layers[i].norm1.eps,
        })
    m1w, m1b = sd["fc_mu.net.0.weight"], sd["fc_mu.net.0.bias"]
    m2w, m2b = sd["fc_mu.net.3.weight"], sd["fc_mu.net.3.bias"]

    def fwd(x: torch.Tensor) -> torch.Tensor:
        x2 = x.reshape(t, -1)
        if fuse and kind == "mkldnn":
            z = lin_add(x2, pe_b, inp[0], inp[1], None)
        else:
            z = lin(x2, *inp).add_(model.pos_encoder.pe[:t])
        for L in layers:
            qkv = lin(z, *L["qkv"])  # (t, 3d)
            q, k, v = qkv.view(1, t, 3, h, hd).permute(2, 0, 3, 1, 4).unbind(0)  # each (1, h, t, hd)
            a = F.scaled_dot_product_attention(q, k, v)  # (1, h, t, hd): 4-D takes the flash CPU kernel
            a = a.transpose(1, 2).reshape(t, d)
            if fuse:
                s = lin_add(a, z, *L["out"])
            else:
                s = lin(a, *L["out"]).add_(z)
            z = F.layer_norm(s, (d,), *L["n1"], L["eps"])
            f = lin(z, *L["l1"], attr="gelu")
            if fuse:
                s = lin_add(f, z, *L["l2"])
            else:
                s = lin(f, *L["l2"]).add_(z)
            z = F.layer_norm(s, (d,), *L["n2"], L["eps"])
        c = z.mean(0, keepdim=True)
        return F.linear(F.relu(F.linear(c, m1w, m1b)), m2w, m2b)

    return fwd


# --- idea: torch.compile / inductor -----------------------------------------------------------
class FunctionalRDE(torch.nn.Module):
    """regime_vector written with F.* ops: inductor cannot see inside the fused encoder-layer op."""

    def __init__(self, model: RegimeVAE) -> None:
        super().__init__()
        self.m = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.m
        b, t, _ = x.shape
        d = m.config.d_model
        h, hd = m.config.n_heads, d // m.config.n_heads
        z = m.input_projection(x) + m.pos_encoder.pe[:t]
        for L in m.transformer.layers:
            qkv = F.linear(z, L.self_attn.in_proj_weight, L.self_attn.in_proj_bias)
            q, k, v = qkv.view(b, t, 3, h, hd).permute(2, 0, 3, 1, 4).unbind(0)
            a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, d)
            z = L.norm1(z + L.self_attn.out_proj(a))
            z = L.norm2(z + L.linear2(F.gelu(L.linear1(z))))
        return m.fc_mu(z.mean(1))


def inductor_fn(model: RegimeVAE, t: int, max_autotune: bool, functional: bool = False, cpp_wrapper: bool = False,
                dynamic: bool = False):
    import torch._inductor.config as ic

    ic.freezing = True
    ic.cpp.weight_prepack = True
    ic.cpp_wrapper = cpp_wrapper
    if max_autotune:
        ic.max_autotune = True
        ic.max_autotune_gemm_backends = "CPP,ATEN"
    enc = (FunctionalRDE(model) if functional else _Encoder(model)).eval()
    # dynamic=True: inductor then packs fp32 linears for oneDNN (MKL packing needs a static M).
    fn = torch.compile(enc, dynamic=dynamic, fullgraph=True)
    x = torch.randn(1, t, W)
    with torch.no_grad():
        fn(x)
    return fn


def aoti_fn(model: RegimeVAE, t: int, max_autotune: bool = True):
    """AOTInductor: C++ wrapper, and fp32 linears packed for oneDNN (inductor does so in AOT mode)."""
    import tempfile

    import torch._inductor

    enc = FunctionalRDE(model).eval()
    x = torch.randn(1, t, W)
    with torch.no_grad():
        ep = torch.export.export(enc, (x,))
        opts = {"freezing": True, "max_autotune": max_autotune}
        if max_autotune:
            opts["max_autotune_gemm_backends"] = "CPP,ATEN"
        path = torch._inductor.aoti_compile_and_package(
            ep, package_path=os.path.join(tempfile.mkdtemp(), "rde.pt2"), inductor_configs=opts
        )
    runner = torch._inductor.aoti_load_package(path)
    return lambda x: runner(x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ideas", nargs="+")
    ap.add_argument("--reps", type=int, default=300)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = RegimeVAE(RDEConfig()).eval()
    window = np.random.default_rng(0).standard_normal((T, W)).astype(np.float32)
    xw = torch.from_numpy(window[None])
    rate = matmul_rate()
    flops = model_flops(model, xw)
    floor = flops / rate * 1e3
    sess = onnx_session(model, T, W)
    with torch.inference_mode():
        ref = model.regime_vector(xw)

    def eager():
        with torch.inference_mode():
            return model.regime_vector(torch.from_numpy(window[None]))

    cands = {}
    for idea in args.ideas:
        t0 = time.perf_counter()
        if idea in ("mkldnn", "mkl", "plain", "mkldnn_nofuse"):
            fwd = packed_forward(model, T, kind=idea.split("_")[0], fuse=not idea.endswith("nofuse"))
        elif idea == "inductor":
            fwd = inductor_fn(model, T, False)
        elif idea == "inductor_max":
            fwd = inductor_fn(model, T, True)
        elif idea == "fn_inductor":
            fwd = inductor_fn(model, T, False, functional=True)
        elif idea == "fn_inductor_max":
            fwd = inductor_fn(model, T, True, functional=True)
        elif idea == "fn_inductor_max_cpp":
            fwd = inductor_fn(model, T, True, functional=True, cpp_wrapper=True)
        elif idea == "fn_inductor_dyn":
            fwd = inductor_fn(model, T, False, functional=True, dynamic=True)
        elif idea == "fn_inductor_dyn_cpp":
            fwd = inductor_fn(model, T, False, functional=True, dynamic=True, cpp_wrapper=True)
        elif idea == "fast":
            from algospace.engines.torch_fast import fast_regime_vector

            fwd = fast_regime_vector(model, T)  # AOTI
        elif idea == "fast_onednn":
            from algospace.engines.torch_fast import fast_regime_vector

            fwd = fast_regime_vector(model, T, mode="onednn")
        elif idea == "fn_eager":
            fwd = FunctionalRDE(model).eval()
        elif idea == "aoti":
            fwd = aoti_fn(model, T, True)
        elif idea == "aoti_default":
            fwd = aoti_fn(model, T, False)
        else:
            raise SystemExit(f"unknown idea {idea}")
        build = time.perf_counter() - t0

        def call(fwd=fwd):
            with torch.inference_mode():
                return fwd(torch.from_numpy(window[None]))

        out = call()
        diff = float(np.abs(np.asarray(out).reshape(ref.shape) - ref.numpy()).max())  # numpy or torch outputs
        cands[idea] = (call, build, diff)
        print(f"built {idea} in {build:.1f}s, max abs diff {diff:.2e}", flush=True)

    ort_diff = np.abs(sess.run(None, {"x": window[None]})[0] - ref.numpy()).max()
    runs = {"eager": eager, "ort": lambda: sess.run(None, {"x": window[None]})}
    runs.update({k: v[0] for k, v in cands.items()})
    times = {k: [] for k in runs}
    for _ in range(10):
        for k, fn in runs.items():
            time.sleep(0.3)
            times[k] += timeit(fn, args.reps // 10, warmup=5)
    p50 = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, matmul {rate / 1e9:.0f} GFLOP/s, "
          f"{flops / 1e6:.1f} MFLOP, floor {floor:.3f} ms, ORT diff {ort_diff:.1e}")
    print(f"{'path':14s} {'p50 ms':>8s} {'p90 ms':>8s} {'/eager':>7s} {'/ORT':>6s} {'/floor':>7s} {'build s':>8s} {'diff':>8s}")
    for k, v in times.items():
        b, dd = (cands[k][1], cands[k][2]) if k in cands else (0.0, 0.0)
        print(f"{k:14s} {p50[k]:8.3f} {np.percentile(v, 90) * 1e3:8.3f} {p50[k] / p50['eager']:7.2f} "
              f"{p50[k] / p50['ort']:6.2f} {p50[k] / floor:7.2f} {b:8.1f} {dd:8.1e}")


if __name__ == "__main__":
    main()
