"""`algospace eval ...`: honest evaluations of trained models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from algospace.cli.choices import Preset, Target
from algospace.io import atomic_write_text

app = typer.Typer(help="Evaluate models honestly.\n\nExample: algospace eval rde --preset tiny --days 120", no_args_is_help=True)


@app.command("rde")
def eval_rde_cmd(
    artifact: Annotated[Optional[Path], typer.Option("--artifact", help="A trained SPY RDE artifact for the real-data test.")] = None,
    preset: Annotated[Preset, typer.Option("--preset", help="Model preset trained on the synthetic data: tiny or default.")] = "default",
    days: Annotated[int, typer.Option("--days", help="Trading days of synthetic regime-switching bars.")] = 400,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic data and the training.")] = 0,
    window: Annotated[Optional[int], typer.Option("--window", help="Regime window T for the synthetic model (default: the preset's).")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Training budget for the synthetic model.")] = None,
    target: Annotated[Target, typer.Option("--target", help="Decoder target of the synthetic model: window or next (see train rde).")] = "window",
    horizon: Annotated[Optional[int], typer.Option("--horizon", help="Bars ahead for --target next.")] = None,
    device: Annotated[str, typer.Option("--device", help="Where the synthetic model trains: cpu (default), auto, cuda, cuda:N, mps.")] = "cpu",
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json and plots.")] = Path("runs/eval/rde"),
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Score the RDE on known regimes and on real next-day volatility.

    1. Synthetic bars from a 4-regime switching process: train an RDE, k-means its regime
       vectors (fitted on the training part), score the held-out part against the truth
       (balanced accuracy after Hungarian alignment, adjusted Rand index, persistence) next
       to a forward-filtered Gaussian HMM on the same bars, and the same k-means on the
       per-bar features, on the window summary and on the HMM's inputs (where information
       is lost).
    2. With --artifact: out-of-sample R^2 of next-day SPY realised volatility from trailing
       volatility alone vs trailing volatility + the regime vector, on the held-out days.

    Example: algospace eval rde --artifact runs/demo/models/rde --out runs/eval/rde
    """
    from algospace.evaluation.rde_eval import plot_spy, plot_synthetic, synthetic_regime_eval, volatility_eval
    from algospace.training.rde_config import RDETrainConfig

    cfg = RDETrainConfig.preset_with_options(
        preset, seed=seed, device=device, target=target, horizon=horizon, max_minutes=max_minutes, window=window
    )
    engine = None
    if artifact is not None:  # loaded (and verified) first: a bad artifact fails before minutes of training
        from algospace.engines.rde import RegimeDetectionEngine

        engine = RegimeDetectionEngine.load(artifact)
    out.mkdir(parents=True, exist_ok=True)
    syn = synthetic_regime_eval(cfg, days=days, seed=seed, progress=not quiet)
    plot = plot_synthetic(syn, out / "synthetic_regimes.png")
    results: dict[str, object] = {
        "synthetic": {"rde": syn.rde, "hmm_forward_filtered": syn.hmm, "test_bars": syn.n_test_bars,
                      "preset": preset, "window": cfg.window, "days": days, "seed": seed, "device": device,
                      "target": cfg.target, "horizon": cfg.target_horizon,
                      "training": {k: v for k, v in syn.training.items() if k in ("epochs", "stop_reason", "train_seconds", "test")}},
        "plots": [str(plot)],
    }
    typer.echo(f"synthetic regimes ({syn.n_test_bars} held-out 30-minute bars):")
    for name, r in (("RDE + k-means", syn.rde), ("HMM (filtered)", syn.hmm)):
        typer.echo(f"  {name:16s} balanced acc {r['balanced_accuracy']:.3f}  ARI {r['adjusted_rand']:.3f}  "
                   f"mean run {r['mean_run_length']:.1f} (truth {r['true_mean_run_length']:.1f})")
    results["synthetic"]["kmeans_information_ceilings"] = syn.ceilings  # type: ignore[index]
    typer.echo("  where the information goes (k-means on each stage's input):")
    for name, r in syn.ceilings.items():
        typer.echo(f"    {name:22s} balanced acc {r['balanced_accuracy']:.3f}  ARI {r['adjusted_rand']:.3f}")
    if engine is not None:
        import pandas as pd

        from algospace.data import sample

        test_start = pd.Timestamp(engine.training["split_boundaries"]["test"])
        spy = sample("spy-1m")
        vol = volatility_eval(engine, spy, test_start)
        results["spy_next_day_volatility"] = vol
        results["plots"].append(str(plot_spy(engine, spy, test_start, out / "spy_regimes.png")))  # type: ignore[union-attr]
        typer.echo(f"SPY next-day log realised vol, out-of-sample R^2 over {vol['test_days']} held-out days: "
                   f"trailing vol {vol['trailing_vol']:.3f}, + regime vector {vol['trailing_vol+regime']:.3f}")
    atomic_write_text(out / "results.json", json.dumps(results, indent=2, default=str))
    typer.echo(f"results: {out / 'results.json'}")
