"""`run_check`: every check of a models directory (rde/, mrms/, core/), as a CheckReport.

Nothing here trusts what an artifact says about itself where it can be measured: weights are
verified by checksum and a strict load, outputs are computed on real market rows, bad inputs
are sent through the engines' public API, and time and memory are measured on this machine.
"""

from __future__ import annotations

import copy
import os
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from algospace.check import measure
from algospace.check.inputs import MarketData, Periods, pick_periods
from algospace.check.result import CheckReport, Status
from algospace.check.subjects import CoreSubject, MRMSSubject, RDESubject, Subject
from algospace.errors import AlgoSpaceError, InputError
from algospace.runtime.models import KINDS, TRAIN_COMMAND, ModelSet

P, F, NT, SK = Status.PASS, Status.FAIL, Status.NOT_TESTED, Status.SKIPPED
RETRAIN = "retrain it ({cmd} --out {path})"
MIN_PERIOD_ROWS = {"rde": 20, "mrms": 5, "core": 5}
SHOWN_METRICS = 12  # in a row's text; the row's values hold them all


def _engine_class(kind: str) -> Any:
    from algospace.engines.core import DecisionCore
    from algospace.engines.mrms import RiskManager
    from algospace.engines.rde import RegimeDetectionEngine

    return {"rde": RegimeDetectionEngine, "mrms": RiskManager, "core": DecisionCore}[kind]


def run_check(models_dir: str | Path, data: str | pd.DataFrame | MarketData = "spy-1m", *, device: str = "auto",
              latency_calls: int = 200, memory_calls: int = 1000,
              progress: Callable[[str], None] | None = None) -> CheckReport:
    """Check the models in `models_dir` on real rows of `data` (a sample name, a bar file or a frame).

    device: "auto" also checks CUDA when present (else the CUDA row is "not tested"); "cuda"
    requires it (its absence fails); "cpu" checks the CPU only.

    Example:
        report = run_check("runs/demo/models")
        print(report.verdict); json.dumps(report.to_dict())
    """
    if device not in ("auto", "cpu", "cuda"):
        raise InputError(f"--device must be auto, cpu or cuda; got {device!r}.")
    say = progress or (lambda _msg: None)
    root = Path(models_dir)
    if not root.is_dir():
        raise InputError(f"MODELS_DIR {root}: not a directory; expected one holding rde/, mrms/ and core/ "
                         "(make demo writes runs/demo/models).")
    report = CheckReport(root, _data_name(data), machine=_machine())
    engines: dict[str, Any] = {}
    for kind in KINDS:
        say(f"{kind}: integrity and provenance")
        engine = _integrity(report, root, kind)
        if engine is not None:
            engines[kind] = engine
            _provenance(report, root, kind, engine)
            _size(report, root, kind, engine)
    say("compatibility")
    _compatibility(report, root, engines)
    market = _market(report, data)
    subjects: dict[str, Subject] = {}
    for kind in KINDS:
        if kind not in engines:
            _skip_rest(report, kind, f"{kind}/ did not load (see integrity)",
                       sections=("provenance", "size", "input probes", "output sanity", "speed and memory", "devices",
                                 "evaluation"))
            continue
        say(f"{kind}: real inputs")
        subject = _subject(report, kind, engines, market)
        if subject is None:
            continue
        subjects[kind] = subject
        say(f"{kind}: input probes and output sanity")
        _probes(report, subject)
        periods = _sanity(report, subject, market)
        if periods is None:
            continue
        rows = np.concatenate([periods.calm_rows, periods.volatile_rows])
        say(f"{kind}: speed and memory")
        _speed(report, subject, rows, latency_calls, memory_calls)
        say(f"{kind}: devices")
        _devices(report, root, subject, rows, device)
    for kind in KINDS:
        if kind in engines:
            _evaluation(report, kind, engines[kind])
    return report


# --- integrity, provenance, size --------------------------------------------------------------
def _integrity(report: CheckReport, root: Path, kind: str) -> Any:
    from algospace.artifacts import verify_artifact

    path = root / kind
    train = f"{TRAIN_COMMAND[kind]} --out {path}" + (f" (or --models {root})" if kind == "core" else "")
    if not path.exists():
        report.add(kind, "integrity", "present", F, f"{kind}/ is missing from {root}", f"train it: {train}")
        return None
    rep = verify_artifact(path)
    bad = [c for c in rep.checks if not c.ok]
    if bad:
        for c in bad:
            report.add(kind, "integrity", c.name, F, c.detail,
                       f"restore {path} from a good copy, or {RETRAIN.format(cmd=TRAIN_COMMAND[kind], path=path)}")
        return None
    try:
        extra = {"backend": _set_rde_backend(root)} if kind == "rde" else {}
        engine = _engine_class(kind).load(path, device="cpu", allow_untrained=True, **extra)
    except AlgoSpaceError as exc:
        report.add(kind, "integrity", "engine load", F, str(exc), f"restore {path} or {RETRAIN.format(cmd=TRAIN_COMMAND[kind], path=path)}")
        return None
    report.add(kind, "integrity", "checksums and strict load", P,
               "; ".join(f"{c.name}: {c.detail}" for c in rep.checks) + f"; {type(engine).__name__} loads it")
    return engine


def _set_rde_backend(root: Path) -> str:
    """The RDE backend the set runs with (core/training.json's), so the check measures that one;
    torch when it is unreadable or cannot run here ("loads as one set" then says why)."""
    from algospace.artifacts.layout import read_training
    from algospace.engines.rde_backend import rde_backend_for

    try:
        return rde_backend_for(read_training(root / "core"))
    except AlgoSpaceError:
        return "torch"


def _provenance(report: CheckReport, root: Path, kind: str, engine: Any) -> None:
    m = engine.manifest
    problems = []
    if m.provenance == "untrained":
        problems.append("provenance 'untrained': initial (random) weights, its outputs mean nothing")
    elif m.provenance == "legacy-import":
        problems.append("provenance 'legacy-import': weights of the original system, not trained or evaluated by algospace")
    elif m.provenance != "trained":
        problems.append(f"provenance {m.provenance!r}")
    if not (engine.training or {}).get("metrics"):
        problems.append("no training record (training.json with metrics): nothing says how these weights were made")
    if not m.training_data.fingerprint:
        problems.append("no training-data fingerprint in the manifest")
    detail = (f"provenance {m.provenance}, created {m.created_at:%Y-%m-%d %H:%M} UTC by algospace {m.algospace_version}, "
              f"seed {m.seed}, data {m.training_data.description or m.training_data.fingerprint or 'unknown'}")
    if problems:
        report.add(kind, "provenance", "trained by algospace", F, "; ".join(problems) + f" ({detail})",
                   RETRAIN.format(cmd=TRAIN_COMMAND[kind], path=root / kind), provenance=m.provenance)
    else:
        report.add(kind, "provenance", "trained by algospace", P, detail, provenance=m.provenance)


def _size(report: CheckReport, root: Path, kind: str, engine: Any) -> None:
    m = engine.manifest
    params = sum(p.numel() for p in engine.model.state_dict().values() if p.is_floating_point())
    files = sum(f.stat().st_size for f in (root / kind).rglob("*") if f.is_file())
    weights = (root / kind / "model.safetensors").stat().st_size
    detail = f"{params:,} parameters; model.safetensors {weights / 1024:,.1f} KiB; artifact {files / 1024:,.1f} KiB"
    if params != m.parameter_count:
        report.add(kind, "size", "parameters", F, f"{detail}, but the manifest records {m.parameter_count:,}",
                   f"re-save or {RETRAIN.format(cmd=TRAIN_COMMAND[kind], path=root / kind)}", parameters=params)
    else:
        report.add(kind, "size", "parameters", P, detail, parameters=params, weights_bytes=weights, artifact_bytes=files)


# --- the set -----------------------------------------------------------------------------------
def _compatibility(report: CheckReport, root: Path, engines: dict[str, Any]) -> None:
    if len(engines) < len(KINDS):
        missing = [k for k in KINDS if k not in engines]
        report.add("set", "compatibility", "one set", SK, f"not checked: {', '.join(missing)} did not load",
                   "fix the integrity failures first")
        return
    rde, core = engines["rde"], engines["core"]
    spec_rde, spec_core = rde.manifest.feature_spec_fingerprint, core.manifest.feature_spec_fingerprint
    values = {"rde_spec": spec_rde, "core_spec": spec_core}
    if not spec_core or spec_core != spec_rde:
        report.add("set", "compatibility", "feature spec", F,
                   f"rde/ uses feature spec {str(spec_rde)[:12]}, core/ records {str(spec_core or 'none')[:12]}",
                   f"retrain the core against this rde/: {TRAIN_COMMAND['core']} --models {root}", **values)
    else:
        report.add("set", "compatibility", "feature spec", P,
                   f"rde/ and core/ share feature spec {spec_rde[:12]}; mrms/ reads synergy vectors of this version's "
                   "layout (checked at load)", **values)
    try:
        ModelSet.load(root, device="cpu")
    except AlgoSpaceError as exc:
        report.add("set", "compatibility", "loads as one set", F, str(exc),
                   f"retrain what the message names; the core last: {TRAIN_COMMAND['core']} --models {root}")
        return
    used = {k: str(((core.training.get(k) or {}).get("files") or {}).get("model.safetensors", ""))[:12] for k in ("rde", "mrms")}
    report.add("set", "compatibility", "loads as one set", P,
               f"ModelSet.load accepts the directory; core/ was trained with rde/ weights {used['rde']} and mrms/ "
               f"weights {used['mrms']}, the ones present")


# --- real inputs ---------------------------------------------------------------------------------
def _data_name(data: str | pd.DataFrame | MarketData) -> str:
    if isinstance(data, MarketData):
        return data.name
    return data if isinstance(data, str) else str(data.attrs.get("source", "DataFrame"))


def _market(report: CheckReport, data: str | pd.DataFrame | MarketData) -> MarketData | None:
    try:
        return MarketData.load(data)
    except AlgoSpaceError as exc:
        report.add("set", "output sanity", "data", F, f"the check's data {report.data} does not load: {exc}",
                   "pass --data with a bar file of several months (or the bundled spy-1m)")
        return None


def _subject(report: CheckReport, kind: str, engines: dict[str, Any], market: MarketData | None) -> Subject | None:
    if market is None:
        _skip_rest(report, kind, "no data")
        return None
    try:
        if kind == "rde":
            return RDESubject(engines["rde"], market)
        if kind == "mrms":
            return MRMSSubject(engines["mrms"], market)
        if "rde" not in engines:
            _skip_rest(report, kind, "the core reads the RDE's regime vectors and rde/ did not load")
            return None
        return CoreSubject(engines["core"], market, engines["rde"])
    except AlgoSpaceError as exc:
        report.add(kind, "output sanity", "real inputs", F, f"could not build {kind} inputs from {report.data}: {exc}",
                   "pass --data with more bars (several months)")
        _skip_rest(report, kind, "no real inputs", sections=("input probes", "speed and memory", "devices"))
        return None


def _skip_rest(report: CheckReport, kind: str, why: str,
               sections: tuple[str, ...] = ("input probes", "output sanity", "speed and memory", "devices")) -> None:
    for s in sections:
        report.add(kind, s, s, SK, f"not run: {why}", "fix the failure above, then run check again")


# --- probes and sanity -----------------------------------------------------------------------------
def _probes(report: CheckReport, s: Subject) -> None:
    """Each malformed call must raise InputError; a good call must be answered (control)."""
    i = 0
    try:
        s.call_one(i)
    except Exception as exc:  # noqa: BLE001 - any failure of a valid call is the finding
        report.add(s.kind, "input probes", "valid call answered", F,
                   f"a valid call on a real row failed: {type(exc).__name__}: {exc}", "restore or retrain the model")
        return
    wrong = []
    for what, call in s.bad_calls(i).items():
        try:
            out = call()
        except InputError:
            continue
        except Exception as exc:  # noqa: BLE001 - the wrong error class is the finding
            wrong.append(f"{what}: raised {type(exc).__name__} ({str(exc)[:80]}), not InputError")
            continue
        wrong.append(f"{what}: accepted, returned {type(out).__name__}")
    n = len(s.bad_calls(i))
    if wrong:
        report.add(s.kind, "input probes", "bad input refused", F, "; ".join(wrong),
                   "the engine must validate its input and raise algospace.errors.InputError; report this as a bug")
    else:
        report.add(s.kind, "input probes", "bad input refused", P,
                   f"a valid call is answered; all {n} malformed calls raise InputError: " + ", ".join(s.bad_calls(i)))


def _sanity(report: CheckReport, s: Subject, market: MarketData | None) -> Periods | None:
    kind = s.kind
    try:
        periods = pick_periods(s.times, market.month_volatility(), MIN_PERIOD_ROWS[kind])  # type: ignore[union-attr]
    except AlgoSpaceError as exc:
        report.add(kind, "output sanity", "real inputs", F, str(exc), "pass --data with more months of bars")
        _skip_rest(report, kind, "no calm and volatile month in the data", sections=("speed and memory", "devices"))
        return None
    calm, vol = s.outputs(periods.calm_rows), s.outputs(periods.volatile_rows)
    both = np.concatenate([calm, vol])
    where = periods.describe()
    if not np.isfinite(both).all():
        report.add(kind, "output sanity", "finite and in range", F,
                   f"{int((~np.isfinite(both)).sum())} NaN/inf outputs on real rows ({where})", "restore or retrain the model")
    else:
        problem = s.range_problem(both)
        report.add(kind, "output sanity", "finite and in range", F if problem else P,
                   problem or f"{both.size:,} outputs on {len(both)} real rows, all finite and in range; {where}",
                   "restore or retrain the model" if problem else "")
    effect, diff = measure.period_effect(calm, vol)
    ok = effect >= measure.MIN_PERIOD_EFFECT and diff > measure.MIN_ABS
    report.add(kind, "output sanity", "differs across periods", P if ok else F,
               f"period means differ by up to {effect:.2f} pooled sd (|diff| {diff:.3g}); needs >= "
               f"{measure.MIN_PERIOD_EFFECT} ({periods.calm} vs {periods.volatile})"
               + ("" if ok else ": the model answers a calm and a volatile month alike"),
               "" if ok else "the model does not respond to the market; retrain it", effect_sd=effect, abs_diff=diff,
               calm=periods.calm, volatile=periods.volatile)
    changes = measure.read_changes(s, np.concatenate([periods.calm_rows, periods.volatile_rows]), both)
    blind = [k for k, (rel, moved) in changes.items() if rel < measure.MIN_READ_CHANGE or moved <= measure.MIN_ABS]
    text = ", ".join(f"{k} {', '.join(s.perturbed)}: outputs move {rel:.2f} x their spread" for k, (rel, _) in changes.items())
    report.add(kind, "output sanity", "reads its input", F if blind else P,
               text + (f"; needs >= {measure.MIN_READ_CHANGE}: the output ignores its input" if blind else ""),
               "the model is input-blind (a constant); retrain it" if blind else "",
               **{k: rel for k, (rel, _) in changes.items()})
    if isinstance(s, RDESubject):
        _skill(report, s, periods)
    return periods


def _skill(report: CheckReport, s: RDESubject, periods: Periods) -> None:
    """The RDE's reconstruction beats the input-blind baseline on real windows (random weights do not)."""
    m = s.skill(np.concatenate([periods.calm_rows, periods.volatile_rows]))
    if m is None:
        report.add("rde", "output sanity", "beats input-blind", NT,
                   "trained on a predictive target; its skill is the recorded evaluation below")
        return
    ok = m["recon_vs_blind"] < 1.0
    report.add("rde", "output sanity", "beats input-blind", P if ok else F,
               f"reconstruction MSE {m['recon']:.4f} vs {m['blind_recon']:.4f} for the input-blind mean "
               f"(ratio {m['recon_vs_blind']:.3f}, needs < 1) on {int(m['windows'])} real windows",
               "" if ok else "the weights have not learned the data (random or broken); retrain the RDE",
               recon_vs_blind=m["recon_vs_blind"])


# --- speed, memory, devices --------------------------------------------------------------------------
def _speed(report: CheckReport, s: Subject, rows: np.ndarray, latency_calls: int, memory_calls: int) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the runtime serves (docs/runtime.md): one intra-op thread per call
    try:
        lat = measure.latency(s, rows, latency_calls)
        mem = measure.memory_growth(s, rows, memory_calls)
    finally:
        torch.set_num_threads(threads)
    backend = getattr(s.engine, "backend_name", None)  # the RDE's: the one core/ records
    report.add(s.kind, "speed and memory", "latency (CPU)", P,
               f"p50 {lat.p50_ms:.3f} ms, p99 {lat.p99_ms:.3f} ms over {lat.calls} single calls on real rows "
               "(1 torch thread, as the runtime serves" + (f"; backend {backend})" if backend else ")"),
               p50_ms=lat.p50_ms, p99_ms=lat.p99_ms, calls=lat.calls)
    rss = "n/a" if mem.rss_bytes is None else f"{mem.rss_bytes / 1024:,.0f} KiB"
    report.add(s.kind, "speed and memory", "memory growth", P if mem.ok else F,
               f"over {mem.calls:,} calls: Python heap {mem.traced_bytes / 1024:+,.1f} KiB (limit "
               f"{measure.MAX_TRACED_GROWTH >> 10:,}), resident set {rss} (limit {measure.MAX_RSS_GROWTH >> 20} MiB)",
               "" if mem.ok else "memory grows with every call (a leak); report this as a bug",
               traced_bytes=mem.traced_bytes, rss_bytes=mem.rss_bytes, calls=mem.calls)


def _devices(report: CheckReport, root: Path, s: Subject, rows: np.ndarray, device: str) -> None:
    report.add(s.kind, "devices", "cpu", P, "every check above ran on the CPU")
    if device == "cpu":
        report.add(s.kind, "devices", "cuda", NT, "not tested (--device cpu)")
        return
    if not torch.cuda.is_available():
        if device == "cuda":
            report.add(s.kind, "devices", "cuda", F, "--device cuda asked for a CUDA check, but torch sees no CUDA device",
                       "run the check on a machine with a GPU and a CUDA build of torch, or drop --device cuda")
        else:
            report.add(s.kind, "devices", "cuda", NT, "not tested: no CUDA device on this machine")
        return
    try:
        gpu = copy.copy(s)
        gpu.engine = _engine_class(s.kind).load(root / s.kind, device="cuda", allow_untrained=True)
        ref, out = s.reference(rows), gpu.reference(rows)
        err = float(np.abs(out - ref).max())
        tol = 1e-3 * max(1.0, float(np.abs(ref).max()))
        lat = measure.latency(gpu, rows, 100)
    except Exception as exc:  # noqa: BLE001 - any CUDA failure is the finding
        report.add(s.kind, "devices", "cuda", F, f"{type(exc).__name__}: {exc}", "fix the CUDA setup or report a bug")
        return
    ok = err <= tol
    report.add(s.kind, "devices", "cuda", P if ok else F,
               f"{torch.cuda.get_device_name()}: outputs match the CPU's within {err:.2e} (limit {tol:.0e}); "
               f"p50 {lat.p50_ms:.3f} ms, p99 {lat.p99_ms:.3f} ms",
               "" if ok else "CUDA and CPU disagree; report this as a bug", max_abs_diff=err, p50_ms=lat.p50_ms,
               p99_ms=lat.p99_ms)


# --- evaluation ------------------------------------------------------------------------------------
def held_out_metrics(training: dict[str, Any]) -> dict[str, Any]:
    """The out-of-sample (test split) summary recorded at training, as it was recorded."""
    metrics = (training or {}).get("metrics") or {}
    test = metrics.get("test")
    if isinstance(test, dict):
        return {k: v for k, v in test.items() if isinstance(v, (int, float, str, bool)) or v is None}
    return {k: v for k, v in metrics.items() if k.startswith("test") and isinstance(v, (int, float, str))}


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _evaluation(report: CheckReport, kind: str, engine: Any) -> None:
    test = held_out_metrics(engine.training)
    if not test:
        report.add(kind, "evaluation", "out-of-sample record", F,
                   "no out-of-sample (test split) evaluation was recorded at training: nothing shows how the model "
                   "does on data it did not see",
                   f"retrain with {TRAIN_COMMAND[kind]}, which evaluates on a held-out period and records it")
        return
    split = (engine.training.get("split_boundaries") or {}).get("test")
    shown = list(test.items())[:SHOWN_METRICS]
    more = f" (+{len(test) - SHOWN_METRICS} more in --json/--html)" if len(test) > SHOWN_METRICS else ""
    report.add(kind, "evaluation", "out-of-sample record", P,
               (f"test split from {str(split)[:10]}: " if split else "test split: ")
               + ", ".join(f"{k} {_fmt(v)}" for k, v in shown) + more, **{"test": test})


def _machine() -> dict[str, Any]:
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
