"""`algospace train ...`: train models on bars into verified artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from algospace.cli import read_options as ro
from algospace.cli.choices import Features, Preset, RdeBackend, Target

app = typer.Typer(help="Train models into artifacts.\n\nExample: algospace train rde --data spy-1m --out runs/my/rde", no_args_is_help=True)


@app.command("rde")
@ro.with_read_options
def train_rde_cmd(
    out: Annotated[Path, typer.Option("--out", help="Artifact directory to write.")],
    data: Annotated[str, typer.Option("--data", help="Bar file (CSV/Parquet, 1- or 30-minute) or a sample name.")] = "spy-1m",
    instrument: Annotated[
        Optional[str], typer.Option("--instrument", help="Instrument whose sessions build the bars (default: the data's, else the config's).")
    ] = None,
    preset: Annotated[Preset, typer.Option("--preset", help="tiny (seconds, for tests) or default (reference model).")] = "default",
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed (default: the config's). Same seed + data = same weights on CPU unless the --max-minutes budget cut the run.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option("--max-epochs", help="Override the preset's epoch cap.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Override the wall-clock budget.")] = None,
    device: Annotated[
        str, typer.Option("--device", help="cpu (default, reproducible), auto, cuda, cuda:N or mps.")
    ] = "cpu",
    target: Annotated[
        Optional[Target], typer.Option("--target", help="next (the preset's default: summarise the next --horizon bars; separates regimes better) or window (reconstruct the window's summary).")
    ] = None,
    horizon: Annotated[Optional[int], typer.Option("--horizon", help="Bars ahead for --target next (default: window // 2).")] = None,
    features: Annotated[
        Optional[Features], typer.Option("--features", help="Feature spec version: v1 (30-minute bars) or v2 (adds the 1-minute bars inside each bar). Default: the config's.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    read: ro.ReadOptions = ro.ReadOptions(),
) -> None:
    """Train the Regime Detection Engine (Transformer-VAE) on the 155 regime features.

    Bars are aggregated to 30 minutes, split chronologically 70/15/15, the feature spec is
    fitted on the training part only, and the best model by validation ELBO is saved as an
    artifact with provenance `trained`. An interrupted run resumes from its checkpoint.

    Example: algospace train rde --data spy-1m --preset default --out runs/my/rde
    (add --device cuda to train on a GPU)
    """
    from algospace.config import get_config
    from algospace.data import load_data, resolve_instrument
    from algospace.training.rde import train_rde
    from algospace.training.rde_config import RDETrainConfig

    cfg = RDETrainConfig.preset_with_options(
        preset, seed=get_config().seed if seed is None else seed, device=device, target=target, horizon=horizon, features=features,
        max_epochs=max_epochs, max_minutes=max_minutes,
    )
    bars = load_data(data, **read.kwargs())
    inst = resolve_instrument(instrument, bars).name
    result = train_rde(bars, out, cfg, instrument=inst, progress=not quiet)
    m = result.metrics
    typer.echo(
        f"RDE trained: {result.model.encoder_parameters():,} inference parameters, {m['epochs']} epochs "
        f"({m['stop_reason']}, {m['train_seconds']} s on {m['device']})\n"
        f"  test recon {m['test']['recon']:.4f} (input-blind {m['test']['blind_recon']:.4f}), "
        f"KL {m['test']['kl']:.3f}, active latent dims {m['test']['active_dims']}/{result.model.config.latent_dim}\n"
        f"  artifact: {out}"
    )
    if m["test"]["active_dims"] == 0:
        typer.secho("warning: posterior collapse: no active latent dimension.", err=True, fg="yellow")


def load_upstream(models: Path, device: str = "cpu", rde_backend: str = "torch"):  # -> (RegimeDetectionEngine, RiskManager)
    """The trained `rde/` and `mrms/` of a models directory, verified by the artifact layer; the
    RDE on `rde_backend` (a resolved name: `engines.rde_backend`)."""
    from algospace.engines.mrms import RiskManager
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.errors import InputError

    for name in ("rde", "mrms"):
        if not (models / name).is_dir():
            raise InputError(f"--models {models} has no {name}/ directory; train it first (algospace train {name} --out {models / name}).")
    return (RegimeDetectionEngine.load(models / "rde", device=device, backend=rde_backend),
            RiskManager.load(models / "mrms", device=device))


@app.command("core")
def train_core_cmd(
    models: Annotated[Path, typer.Option("--models", help="Directory holding the trained rde/ and mrms/.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Artifact directory to write (default: MODELS/core).")] = None,
    data: Annotated[str, typer.Option("--data", help="Bar file (CSV/Parquet, 1-minute) or a sample name.")] = "spy-1m",
    preset: Annotated[Preset, typer.Option("--preset", help="tiny (seconds, for tests) or default.")] = "default",
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed (default: the config's). Same seed + data = same weights on CPU unless the --max-minutes budget cut the run.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option("--max-epochs", help="Override the preset's epoch cap.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Override the wall-clock budget of the training loop.")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu (default, reproducible), auto, cuda, cuda:N or mps.")] = "cpu",
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    rde_backend: Annotated[RdeBackend, typer.Option(
        "--rde-backend",
        help="RDE backend of the regime vectors, recorded in core/training.json: eval core, backtest, run and the "
             "demo then use it. Default auto: onnxruntime-int8 where ONNX Runtime is installed (extra onnx), else torch.")] = "auto",
) -> None:
    """Train the decision core on the simulator's outcomes of the M-RMS's proposed trades.

    Component signals on the bars (SPY runs as the ES proxy), each with its matrices, the RDE's
    regime vector, the LVN summary and the M-RMS proposal; label: the trade's outcome in R.
    Split by trading day 70/15/15 (no trade crosses a boundary), early stopping on validation,
    the initiate threshold chosen on validation. Writes an artifact with provenance `trained`
    carrying the RDE's feature-spec fingerprint and the RDE backend of its regime vectors (every
    later path computes them with it). An interrupted run resumes from its checkpoint.

    Example: algospace train core --models runs/my/models --data spy-1m --max-minutes 10
    """
    from algospace.config import get_config
    from algospace.data import load_data
    from algospace.training.core import train_core
    from algospace.engines.rde_backend import resolve_rde_backend
    from algospace.training.core_config import CoreTrainConfig

    cfg = CoreTrainConfig.preset_with_options(preset, seed=get_config().seed if seed is None else seed, device=device,
                                              max_epochs=max_epochs, max_minutes=max_minutes)
    rde, rm = load_upstream(models, rde_backend=resolve_rde_backend(rde_backend))
    out = out or models / "core"
    result = train_core(load_data(data), rde, rm, out, cfg, progress=not quiet, rde_path=models / "rde", mrms_path=models / "mrms")
    m = result.metrics
    typer.echo(
        f"Decision core trained: {m['epochs']} epochs ({m['stop_reason']}, {m['train_seconds']} s on {m['device']}), "
        f"{result.data.counts['train']}/{result.data.counts['val']}/{result.data.counts['test']} signals train/val/test\n"
        f"  regime vectors: RDE backend {rde.backend_name} (recorded)\n"
        f"  initiate threshold {result.threshold:.3f} (chosen on validation); test: win rate {m['test']['win_rate']:.3f}, "
        f"mean P(R>0) {m['test']['mean_confidence']:.3f}, taken {m['test']['taken_share']:.1%}\n"
        f"  artifact: {out}   (compare with baselines: algospace eval core --models {models})"
    )


@app.command("mrms")
def train_mrms_cmd(
    out: Annotated[Path, typer.Option("--out", help="Artifact directory to write.")],
    data: Annotated[str, typer.Option("--data", help="Bar or tick file (CSV/Parquet) or a sample name; SPY runs as the x10 ES proxy.")] = "spy-1m",
    instrument: Annotated[Optional[str], typer.Option("--instrument", help="Simulated instrument: ES (default) or MES.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Signals: components (default, ~3,500 on the sample) or synergy (the 4 reference patterns, ~15).")] = None,
    preset: Annotated[Preset, typer.Option("--preset", help="tiny (seconds, for tests) or default (the real run).")] = "default",
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed (default: the config's). Same seed + data = same weights on CPU unless the --max-minutes budget cut the run.")] = None,
    max_iterations: Annotated[Optional[int], typer.Option("--max-iterations", help="Override the preset's PPO iteration cap.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Override the wall-clock budget.")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu (default, reproducible), auto, cuda, cuda:N or mps.")] = "cpu",
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Train the M-RMS (risk manager) with PPO on the trade simulator and a prop-firm account.

    Signals are split chronologically by trading day 70/15/15 (no trade crosses a boundary),
    episodes of consecutive training signals run through a fresh $50K evaluation account, the
    best policy by validation Sortino (minus breaches) is saved as an artifact with provenance
    `trained`. An interrupted run resumes from its checkpoint. Every report states the
    SPY-as-ES proxy.

    Example: algospace train mrms --data spy-1m --preset default --out runs/my/mrms
    """
    from algospace.config import get_config
    from algospace.training.mrms import train_mrms
    from algospace.training.mrms_config import MRMSTrainConfig

    cfg = MRMSTrainConfig.preset_with_options(
        preset, seed=get_config().seed if seed is None else seed, device=device, instrument=instrument, source=source,
        max_iterations=max_iterations, max_minutes=max_minutes,
    )
    result = train_mrms(data, out, cfg, progress=not quiet)
    m, split = result.metrics, result.data.rows
    t = m["test"]
    typer.echo(
        f"M-RMS trained on {result.data.proxy}\n"
        f"  {len(result.data.signals)} {result.data.signals.source} signals: train {len(split['train'])}, val {len(split['val'])}, "
        f"test {len(split['test'])}; {m['iterations']} PPO iterations ({m['stop_reason']}, {m['train_seconds']} s on {m['device']})\n"
        f"  test: net ${t['net_pnl']:,.0f} over {t['trades']} trades, daily Sortino {_num(t['sortino_daily'])}, "
        f"Calmar {_num(t['calmar'])}, rule breaches {t['rule_breaches']}\n"
        f"  artifact: {out}  (compare with baselines: algospace eval mrms --artifact {out})"
    )


def _num(x: object) -> str:
    return "n/a" if x is None else f"{x:.2f}"  # type: ignore[str-format]
