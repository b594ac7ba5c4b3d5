"""`algospace train ...`: train models on bars into verified artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from algospace.cli import read_options as ro
from algospace.cli.choices import Preset, Target

app = typer.Typer(help="Train models into artifacts.\n\nExample: algospace train rde --data spy-1m --out runs/my/rde", no_args_is_help=True)


@app.command("rde")
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
        Target, typer.Option("--target", help="window (default: reconstruct the window's summary) or next (summarise the next --horizon bars; separates regimes better).")
    ] = "window",
    horizon: Annotated[Optional[int], typer.Option("--horizon", help="Bars ahead for --target next (default: window // 2).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    format: ro.Format = "auto",
    time_column: ro.TimeColumn = None,
    timezone: ro.Timezone = None,
    dayfirst: ro.Dayfirst = None,
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
        preset, seed=get_config().seed if seed is None else seed, device=device, target=target, horizon=horizon,
        max_epochs=max_epochs, max_minutes=max_minutes,
    )
    bars = load_data(data, **ro.read_options(format, time_column, timezone, dayfirst))
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
