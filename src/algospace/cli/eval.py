"""`algospace eval ...`: honest evaluations of trained models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from algospace.io import atomic_write_text

app = typer.Typer(help="Evaluate models honestly.\n\nExample: algospace eval rde --preset tiny --days 120", no_args_is_help=True)


@app.command("rde")
def eval_rde_cmd(
    artifact: Annotated[Optional[Path], typer.Option("--artifact", help="A trained SPY RDE artifact for the real-data test.")] = None,
    preset: Annotated[str, typer.Option("--preset", help="Model preset trained on the synthetic data: tiny or default.")] = "default",
    days: Annotated[int, typer.Option("--days", help="Trading days of synthetic regime-switching bars.")] = 400,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic data and the training.")] = 0,
    window: Annotated[Optional[int], typer.Option("--window", help="Regime window T for the synthetic model (default: the preset's).")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Training budget for the synthetic model.")] = None,
    target: Annotated[str, typer.Option("--target", help="Decoder target of the synthetic model: window or next (see train rde).")] = "window",
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
    if artifact is not None:
        import pandas as pd

        from algospace.data import sample
        from algospace.engines.rde import RegimeDetectionEngine

        engine = RegimeDetectionEngine.load(artifact)
        test_start = pd.Timestamp(engine.training["split_boundaries"]["test"])
        spy = sample("spy-1m")
        vol = volatility_eval(engine, spy, test_start)
        results["spy_next_day_volatility"] = vol
        results["plots"].append(str(plot_spy(engine, spy, test_start, out / "spy_regimes.png")))  # type: ignore[union-attr]
        typer.echo(f"SPY next-day log realised vol, out-of-sample R^2 over {vol['test_days']} held-out days: "
                   f"trailing vol {vol['trailing_vol']:.3f}, + regime vector {vol['trailing_vol+regime']:.3f}")
    atomic_write_text(out / "results.json", json.dumps(results, indent=2, default=str))
    typer.echo(f"results: {out / 'results.json'}")


@app.command("core")
def eval_core_cmd(
    models: Annotated[Path, typer.Option("--models", help="Directory holding the trained rde/, mrms/ and core/.")],
    data: Annotated[str, typer.Option("--data", help="The bars the core was trained on (file or sample name).")] = "spy-1m",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random-weights core, the MC masks and the bootstrap.")] = 0,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples.")] = 2000,
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json, table.md and reliability.png.")] = Path("runs/eval/core"),
) -> None:
    """Is the decision core worth having? Out of sample, same signals, M-RMS sizing throughout.

    Compares (a) every signal, (b) a logistic regression on the same inputs, (c) the core with
    random weights and (d) the trained core on the core's test split, through the prop-firm
    account: expectancy in R, Sortino, Calmar, rule breaches, share taken, calibration of the
    MC-dropout confidence (ECE, reliability plot), 90 % block-bootstrap intervals of (d) - (a)
    and (d) - (b). Nothing is fitted or chosen on the test split.

    Example: algospace eval core --models runs/my/models --data spy-1m --out runs/eval/core
    """
    from algospace.artifacts import load_artifact
    from algospace.cli.train import load_upstream
    from algospace.data import load_data
    from algospace.errors import ArtifactError
    from algospace.evaluation.core_eval import evaluate_core, markdown_table
    from algospace.training.core_data import prepare_core_data

    rde, rm = load_upstream(models)
    core, _ = load_artifact(models / "core", device="cpu", kind="core", feature_spec_fingerprint=rde.feature_spec.fingerprint)
    try:
        training = json.loads((models / "core" / "training.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{models / 'core'}: training.json is missing or unreadable ({exc}); retrain the core.") from exc
    cfg = training["train_config"]
    prepared = prepare_core_data(load_data(data), rde, rm, cfg["train_fraction"], cfg["val_fraction"], cfg["instrument"],
                                 cfg.get("data_start"), cfg.get("data_end"))
    report = evaluate_core(prepared, rm, core, training, seed=seed, n_boot=n_boot, out=out)
    typer.echo(f"{report['proxy']}; test {report['test_period'][0]}..{report['test_period'][1]}, {report['test_signals']} signals\n")
    typer.echo(markdown_table(report))
    typer.echo(f"trained core ECE {report['calibration']['d_trained_core']['ece']:.3f}; results in {out}")


@app.command("mrms")
def eval_mrms_cmd(
    artifact: Annotated[Path, typer.Option("--artifact", help="A trained M-RMS artifact (algospace train mrms).")],
    data: Annotated[str, typer.Option("--data", help="The data it was trained on (sample name or file): its split is rebuilt.")] = "spy-1m",
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Block-bootstrap resamples for the 90 % intervals.")] = 2000,
    block_days: Annotated[int, typer.Option("--block-days", help="Bootstrap block length in trading days.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and of the random-weights network.")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json and plots.")] = Path("runs/eval/mrms"),
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Compare the trained M-RMS with the sizing rules traders use, out of sample.

    On the artifact's held-out test signals, through the same simulator, account and rule
    checks: the M-RMS; (a) 1 contract, 2 ATR, 2R; (b) 1 % fixed-fractional; (c) half-Kelly
    from the training trades; (d) the best fixed rule by grid search on the training period;
    (e) the network with random weights. Prints the metrics, 90 % block-bootstrap intervals of
    the Sortino and Calmar differences, the verdict, and the reference synergy signals.

    Example: algospace eval mrms --artifact runs/my/mrms --out runs/eval/mrms
    """
    import pandas as pd

    from algospace.evaluation.mrms_eval import evaluate_mrms, plot_curves

    ev = evaluate_mrms(artifact, data, n_boot=bootstrap, block_days=block_days, seed=seed, progress=not quiet)
    out.mkdir(parents=True, exist_ok=True)
    plot = plot_curves(ev, out / "equity_drawdown.png")
    cols = ["trades", "net_pnl", "win_rate", "profit_factor", "expectancy_r", "sortino_daily", "max_drawdown_daily", "calmar",
            "rule_breaches"]
    table = pd.DataFrame({k: {c: v[c] for c in cols} for k, v in ev.metrics.items()}).T
    typer.echo(f"prices: {ev.proxy}")
    typer.echo(f"test period {ev.test_period[0][:10]}..{ev.test_period[1][:10]}, {ev.n_test_signals} component signals\n")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:,.2f}".format):
        typer.echo(table.to_string())
    typer.echo("\n" + ev.verdict)
    syn = ev.synergy
    typer.echo(f"\nreference 4-pattern synergy: {syn['events']} events in the whole sample, {syn['in_test_period']} in the test period")
    for label in ("all", "test_period"):
        for name, r in syn.get(label, {}).items():
            typer.echo(f"  {label:11s} {name:32s} trades {r['trades']:3d}  net ${r['net_pnl']:>9,.0f}  breaches {r['rule_breaches']}")
    results = {"proxy": ev.proxy, "test_period": ev.test_period, "test_signals": ev.n_test_signals, "metrics": ev.metrics,
               "intervals_90": ev.intervals, "fitted_on_training_period": ev.fitted, "synergy": syn, "verdict": ev.verdict,
               "bootstrap": {"resamples": bootstrap, "block_days": block_days, "seed": seed}, "plots": [str(plot)],
               "artifact": str(artifact)}
    atomic_write_text(out / "results.json", json.dumps(results, indent=2, default=str))
    typer.echo(f"results: {out / 'results.json'}, plot: {plot}")
