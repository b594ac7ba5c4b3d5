"""`algospace infer ...`: run a trained model over a bar file and write what it says."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from algospace.cli import read_options as ro
from algospace.cli.choices import Backend

app = typer.Typer(
    help="Run trained models over bar files.\n\n"
    "Example: algospace infer rde --artifact runs/demo/models/rde --data spy-1m --out runs/regimes.parquet",
    no_args_is_help=True,
)


@app.command("rde")
@ro.with_read_options
def infer_rde_cmd(
    artifact: Annotated[Path, typer.Option("--artifact", help="A trained RDE artifact directory.")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write: one row per bar, regime_0..regime_7.")],
    data: Annotated[str, typer.Option("--data", help="Bar file (CSV/Parquet, 1- or 30-minute) or a sample name.")] = "spy-1m",
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    backend: Annotated[
        Backend, typer.Option("--backend", help="torch (default), torch-eager, torch-aoti, torch-bf16, onnxruntime or onnxruntime-int8 (see docs/runtime.md).")
    ] = "torch",
    read: ro.ReadOptions = ro.ReadOptions(),
) -> None:
    """Write the regime vector at every bar of a bar file (causal sliding windows).

    The artifact is verified, the bars are turned into features with the artifact's own
    fitted feature spec, and each row is the regime vector of the window that ends at that
    bar: nothing after a bar is read for it. Bars before the first full window (feature
    warm-up plus T bars) get no row. The file is written atomically.

    Example: algospace infer rde --artifact runs/demo/models/rde --data spy-1m --out runs/regimes.parquet
    """
    from rich.console import Console

    from algospace.data import load_data
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.io import atomic_write_parquet

    console = Console(stderr=True)
    start = time.perf_counter()
    with console.status("loading and verifying the artifact"):
        engine = RegimeDetectionEngine.load(artifact, device=device, backend=backend)
    with console.status(f"regime vectors ({engine.backend} on {engine.device})"):
        series = engine.regime_series(load_data(data, **read.kwargs()))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(out, series)
    typer.echo(
        f"{len(series):,} regime vectors ({series.index[0]} .. {series.index[-1]}), window {engine.window}, "
        f"backend {engine.backend} on {engine.device}, {time.perf_counter() - start:.1f} s\n  written: {out}"
    )
