"""`algospace eval ...`: honest evaluations of trained models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from algospace.cli.choices import Features, Pooling, Preset, RdeBackend, Target
from algospace.io import atomic_write_text

app = typer.Typer(help="Evaluate models honestly.\n\nExample: algospace eval rde --preset tiny --days 120", no_args_is_help=True)


@app.command("rde")
def eval_rde_cmd(
    artifact: Annotated[Optional[Path], typer.Option("--artifact", help="A trained SPY RDE artifact for the real-data test.")] = None,
    preset: Annotated[Preset, typer.Option("--preset", help="Model preset trained on the synthetic data: tiny or default.")] = "default",
    days: Annotated[int, typer.Option("--days", help="Trading days of synthetic regime-switching bars.")] = 400,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of the synthetic data, the training and the SPY part (default 0).")] = None,
    seeds: Annotated[Optional[str], typer.Option(
        "--seeds", help="Several seeds instead of --seed, comma-separated (e.g. 0,1,2,3,4): each synthetic set is generated and "
                        "its RDE trained once per seed, then the RDE's labellings are compared with the HMM and the jump model "
                        "pooled over the seeds. The SPY part uses the first.")] = None,
    block: Annotated[int, typer.Option("--block", min=1, help="Pooled comparison: bootstrap block in 30-minute bars (about the truth's mean run).")] = 50,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=10, help="Pooled comparison: bootstrap resamples.")] = 2000,
    window: Annotated[Optional[int], typer.Option("--window", help="Regime window T for the synthetic model (default: the preset's).")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Training budget for the synthetic model.")] = None,
    regime_set: Annotated[str, typer.Option("--set", help="Synthetic regime set: basic, hard (regimes a 30-minute HMM barely sees), both or none.")] = "both",
    target: Annotated[Optional[Target], typer.Option("--target", help="Decoder target of the synthetic model: window or next (default: the preset's; see train rde).")] = None,
    horizon: Annotated[Optional[int], typer.Option("--horizon", help="Bars ahead for --target next.")] = None,
    pooling: Annotated[Optional[Pooling], typer.Option("--pooling", help="Read-out of the encoded bars: mean, last, ewm or attention (default: the preset's).")] = None,
    contrastive: Annotated[Optional[float], typer.Option("--contrastive", help="Weight of the temporal-contrastive term (0 = off; default: the preset's).")] = None,
    features: Annotated[
        Optional[Features], typer.Option("--features", help="Feature spec version: v1 (30-minute bars) or v2 (adds the 1-minute bars inside each bar). Default: the config's.")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="Where the synthetic model trains: cpu (default), auto, cuda, cuda:N, mps.")] = "cpu",
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help="torch CPU threads for training (1 is fastest on a shared machine).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="YAML of RDE training settings over the preset (e.g. 'model: {d_model: 64, n_layers: 2}'); the options above override it.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json and plots.")] = Path("runs/eval/rde"),
    spy: Annotated[bool, typer.Option("--spy/--no-spy", help="Also the SPY walk-forward tests (volatility and 0/1 strategy).")] = True,
    spy_train_end: Annotated[str, typer.Option("--spy-train-end", help="SPY: every model is fitted on bars before this date; the walk-forward covers the rest.")] = "2018-01-01",
    cost_bps: Annotated[float, typer.Option("--cost-bps", help="SPY strategy: cost per unit of turnover, in basis points.")] = 1.0,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Score the RDE on known regimes and on real next-day volatility.

    1. Synthetic bars from a 4-regime switching process: train an RDE, k-means its regime
       vectors (fitted on the training part), score the held-out part against the truth
       (balanced accuracy after Hungarian alignment, adjusted Rand index, persistence) next
       to a forward-filtered Gaussian HMM on the same bars, and the same k-means on the
       per-bar features, on the window summary and on the HMM's inputs (where information
       is lost).
       Both sets (--set): `basic` (regimes differ in volatility, drift, volume level) and
       `hard` (pairs share volatility and volume; they differ in tails, 1-minute
       autocorrelation and volume coupling; durations hours to weeks). Beside the RDE: a
       causal HMM or jump-model filter over its vectors, the forward-filtered HMM and the
       online jump model on the bars' own observations.
       Then, per set: each RDE labelling minus each baseline in balanced
       accuracy, averaged over the seeds (--seeds; one seed works too), with a
       paired block-bootstrap 90 % interval (blocks of --block bars drawn within
       each seed's test part; labels aligned to the truth once per seed) and a
       verdict: above, below or not distinguishable.
    2. SPY (--spy, default): an RDE (or --artifact, trained on data ending before
       --spy-train-end), k-means, the latent filter, the HMM and the jump model are fitted
       on the bars before --spy-train-end, then walked forward month by month: next-day
       realised volatility (HAR-RV alone vs HAR-RV + each regime signal, R^2 gain with a
       block-bootstrap 90 % interval) and a 0/1 regime-switching strategy against
       buy-and-hold, net of --cost-bps.

    Example: algospace eval rde --preset default --max-minutes 6 --out runs/eval/rde

    Example (five seeds, pooled): algospace eval rde --seeds 0,1,2,3,4 --no-spy --out runs/eval/seeds
    """
    from algospace.errors import InputError
    from algospace.evaluation.rde_eval import SYNTHETIC_SETS
    from algospace.training.rde_config import RDETrainConfig

    seed_list = _parse_seeds(seeds, seed)
    seed = seed_list[0]
    settings = _rde_settings_file(config)
    # --config and --pooling change fields of the preset's model size; the rest stays the preset's
    model = {**RDETrainConfig.preset(preset).model.model_dump(), **settings.pop("model", {})}
    if pooling is not None:
        model["pooling"] = pooling
    cfg = RDETrainConfig.preset_with_options(
        preset, **{**settings, **{k: v for k, v in dict(
            seed=seed, device=device, target=target, horizon=horizon, max_minutes=max_minutes, window=window,
            contrastive=contrastive, threads=threads, features=features).items() if v is not None}}, model=model,
    )
    sets = {"both": list(SYNTHETIC_SETS), "none": []}.get(regime_set, [regime_set])
    if any(s not in SYNTHETIC_SETS for s in sets):
        raise InputError(f"--set must be one of {sorted(SYNTHETIC_SETS)}, both or none; got {regime_set!r}.")
    spy_engine = _out_of_sample_artifact(artifact, spy_train_end) if spy and artifact is not None else None
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"synthetic": {}, "plots": []}
    for name in sets:
        _synthetic_set(results, name, cfg, seed_list, days=days, preset=preset, device=device, block=block, n_boot=bootstrap,
                       quiet=quiet, out=out)
    if spy:
        results["spy_walk_forward"] = _spy_walk_forward(cfg, artifact, spy_engine, spy_train_end, cost_bps, seed, out, quiet)
        results["plots"] += [str(out / "spy_strategies.png"), str(out / "spy_regimes.png")]
    atomic_write_text(out / "results.json", json.dumps(results, indent=2, default=str))
    typer.echo(f"results: {out / 'results.json'}")


def _parse_seeds(seeds: Optional[str], seed: Optional[int]) -> list[int]:
    """`--seeds 0,1,2` -> [0, 1, 2]; without it [--seed] (default 0). Both at once is refused."""
    from algospace.errors import InputError

    if seeds is None:
        return [0 if seed is None else seed]
    if seed is not None:
        raise InputError("Give --seed (one run) or --seeds (several, pooled), not both.")
    try:
        values = [int(x) for x in seeds.split(",")]
    except ValueError:
        raise InputError(f"--seeds must be comma-separated integers such as 0,1,2,3,4; got {seeds!r}.") from None
    if len(set(values)) != len(values) or min(values) < 0:
        raise InputError(f"--seeds must be distinct non-negative integers; got {seeds!r}.")
    return values


def _synthetic_set(results: dict[str, Any], name: str, cfg: Any, seed_list: list[int], *, days: int, preset: str,
                   device: str, block: int, n_boot: int, quiet: bool, out: Path) -> None:
    """`eval rde`'s synthetic part for one set: every seed, then the pooled comparison, into `results`.

    One seed: results["synthetic"][name] is that seed's scores (the single-seed layout) plus
    "pooled"; several: {"seeds": {seed: scores}, "pooled": ...}. results.json is rewritten after
    every seed, so a long run that is stopped keeps what it finished.
    """
    import time

    from algospace.evaluation.rde_eval import BASELINES, MODEL_TITLES, MODELS, RDE_LABELLINGS, plot_synthetic, synthetic_regime_eval
    from algospace.evaluation.seed_pool import pooled_comparison
    from algospace.training.rde_config import RDETrainConfig

    single = len(seed_list) == 1
    frames = {}
    for i, s in enumerate(seed_list):
        start = time.perf_counter()
        cfg_s = RDETrainConfig.validated({**cfg.model_dump(), "seed": s})
        syn = synthetic_regime_eval(cfg_s, days=days, seed=s, progress=not quiet, regime_set=name)
        frames[s] = syn.frame
        results["plots"].append(str(plot_synthetic(syn, out / f"synthetic_regimes_{name}{'' if single else f'_seed{s}'}.png")))
        entry = {
            **syn.scores, "test_bars": syn.n_test_bars, "preset": preset, "window": cfg.window, "days": days,
            "seed": s, "device": device, "target": cfg.target, "horizon": cfg.target_horizon, "features": cfg.features, "max_minutes": cfg.max_minutes,
            "pooling": cfg.model.pooling, "contrastive": cfg.contrastive,
            "training": {k: v for k, v in syn.training.items() if k in ("epochs", "stop_reason", "train_seconds", "test")},
            "kmeans_information_ceilings": syn.ceilings,
        }
        if single:
            results["synthetic"][name] = entry
            typer.echo(f"synthetic set {name!r} ({syn.n_test_bars} held-out 30-minute bars):")
            for model in MODELS:
                r = syn.scores[model]
                typer.echo(f"  {MODEL_TITLES[model]:20s} balanced acc {r['balanced_accuracy']:.3f}  ARI {r['adjusted_rand']:.3f}  "
                           f"mean run {r['mean_run_length']:.1f} (truth {r['true_mean_run_length']:.1f})")
            typer.echo("  where the information goes (k-means on each stage's input):")
            for stage, r in syn.ceilings.items():
                typer.echo(f"    {stage:22s} balanced acc {r['balanced_accuracy']:.3f}  ARI {r['adjusted_rand']:.3f}")
        else:
            results["synthetic"].setdefault(name, {"seeds": {}})["seeds"][str(s)] = entry
            accs = ", ".join(f"{MODEL_TITLES[m]} {syn.scores[m]['balanced_accuracy']:.3f}" for m in MODELS)
            typer.echo(f"set {name!r} seed {s} ({i + 1}/{len(seed_list)}, {syn.n_test_bars} test bars, "
                       f"{time.perf_counter() - start:.0f} s): balanced acc {accs}")
        atomic_write_text(out / "results.json", json.dumps(results, indent=2, default=str))
    pooled = pooled_comparison(frames, RDE_LABELLINGS, BASELINES, block=block, n_boot=n_boot)
    results["synthetic"][name]["pooled"] = pooled
    _print_pooled(name, pooled, MODEL_TITLES)


def _print_pooled(name: str, pooled: dict[str, Any], titles: dict[str, str]) -> None:
    """The pooled comparison of one set as a rich table: a row per labelling, a column per baseline."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    bars = sorted(set(pooled["test_bars"].values()))
    table = Table(title=f"set {name!r}, pooled over seeds {','.join(pooled['seeds'])} ({'/'.join(map(str, bars))} test bars each; "
                        f"truth's mean run {pooled['true_mean_run_length']:.1f}; blocks of {pooled['block']}, {pooled['n_boot']} resamples)")
    table.add_column("labelling")
    table.add_column("bal. acc mean (min)", justify="right")
    table.add_column("mean run", justify="right")
    table.caption = escape(f"minus: the labelling's balanced accuracy minus the baseline's, mean over seeds, [paired block-bootstrap "
                           f"{pooled['level']:.0%} interval]; above / below: the interval excludes 0; seeds: how many seeds "
                           "the labelling is above in")  # escaped: rich would read "[paired ...]" as markup and drop it
    for base in pooled["baselines"]:
        table.add_column(f"minus {titles[base]}")
    for label, r in [*pooled["labellings"].items(), *pooled["baselines"].items()]:
        cells = [
            f"{v['difference']:+.3f} [{v['low']:+.3f}, {v['high']:+.3f}] {v['verdict']}, seeds {v['seeds_above']}/{v['n_seeds']}"
            for v in r.get("vs", {}).values()
        ]
        table.add_row(titles[label], f"{r['mean']:.3f} ({r['min']:.3f})", f"{r['mean_run_length']:.1f}",
                      *(escape(c) for c in cells or [""] * len(pooled["baselines"])))
    Console(width=180).print(table)


def _rde_settings_file(path: Optional[Path]) -> dict[str, Any]:
    """The RDE training settings of a YAML file (a mapping of RDETrainConfig fields); {} without one."""
    if path is None:
        return {}
    import yaml

    from algospace.errors import ConfigError, InputError

    if not path.is_file():
        raise InputError(f"--config {path}: no such file; give a YAML file of RDE training settings.")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"--config {path} is not valid YAML ({exc.__class__.__name__}); fix the file.") from exc
    if not isinstance(values, dict) or not isinstance(values.get("model", {}), dict):
        raise ConfigError(f"--config {path} must hold a mapping of RDE training settings (model: a mapping); found {type(values).__name__}.")
    return dict(values)


@app.command("core")
def eval_core_cmd(
    models: Annotated[Path, typer.Option("--models", help="Directory holding the trained rde/, mrms/ and core/.")],
    data: Annotated[str, typer.Option("--data", help="The bars the core was trained on (file or sample name).")] = "spy-1m",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random-weights core, the MC masks and the bootstrap.")] = 0,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples.")] = 2000,
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json, table.md and reliability.png.")] = Path("runs/eval/core"),
    rde_backend: Annotated[RdeBackend, typer.Option(
        "--rde-backend",
        help="auto (default) = the RDE backend core/ was trained with (its training.json rde_backend); another is "
             "refused: the core's threshold was chosen on that backend's regime vectors.")] = "auto",
) -> None:
    """Is the decision core worth having? Out of sample, same signals, M-RMS sizing throughout.

    Compares (a) every signal, (b) a logistic regression on the same inputs, (c) the core with
    random weights and (d) the trained core on the core's test split, through the prop-firm
    account: expectancy in R, Sortino, Calmar, rule breaches, share taken, calibration of the
    MC-dropout confidence (ECE, reliability plot), 90 % block-bootstrap intervals of (d) - (a)
    and (d) - (b). Nothing is fitted or chosen on the test split. The regime vectors come from
    the RDE backend the core was trained with (recorded in its training.json).

    Example: algospace eval core --models runs/my/models --data spy-1m --out runs/eval/core
    """
    from algospace.artifacts import load_artifact
    from algospace.artifacts.layout import read_training
    from algospace.cli.train import load_upstream
    from algospace.data import load_data
    from algospace.errors import ArtifactError, InputError
    from algospace.evaluation.core_eval import evaluate_core, markdown_table
    from algospace.engines.rde_backend import rde_backend_for
    from algospace.training.core_data import prepare_core_data

    if not (models / "core").is_dir():
        raise InputError(f"--models {models} has no core/ directory; train it first (algospace train core --models {models}).")
    training = read_training(models / "core")
    if not training:
        raise ArtifactError(f"{models / 'core'}: training.json is missing; retrain the core.")
    # refused, not overridable: an eval on other vectors would score decisions the runtime never makes
    backend = rde_backend_for(training, rde_backend, offer_override=False, where=models / "core")
    rde, rm = load_upstream(models, rde_backend=backend)
    core, _ = load_artifact(models / "core", device="cpu", kind="core", feature_spec_fingerprint=rde.feature_spec.fingerprint)
    cfg = training["train_config"]
    prepared = prepare_core_data(load_data(data), rde, rm, cfg["train_fraction"], cfg["val_fraction"], cfg["instrument"],
                                 cfg.get("data_start"), cfg.get("data_end"))
    report = evaluate_core(prepared, rm, core, training, seed=seed, n_boot=n_boot, out=out)
    typer.echo(f"{report['proxy']}; test {report['test_period'][0]}..{report['test_period'][1]}, {report['test_signals']} signals; "
               f"RDE backend {backend}\n")
    typer.echo(markdown_table(report))
    typer.echo(f"trained core ECE {report['calibration']['d_trained_core']['ece']:.3f}; results in {out}")


@app.command("mrms")
def eval_mrms_cmd(
    artifact: Annotated[Optional[Path], typer.Option("--artifact", help="Single split: evaluate this trained M-RMS artifact on its own test split (no retraining; --folds etc. ignored).")] = None,
    data: Annotated[str, typer.Option("--data", help="Bars (sample name or file); SPY runs as the x10 ES proxy. With --artifact: the data it was trained on.")] = "spy-1m",
    folds: Annotated[int, typer.Option("--folds", help="Walk-forward folds: consecutive test periods, each after an expanding training window.")] = 4,
    test_fraction: Annotated[float, typer.Option("--test-fraction", help="Share of the signals (the last ones) covered by the folds' test periods.")] = 0.5,
    preset: Annotated[Preset, typer.Option("--preset", help="M-RMS training preset per fold: tiny (seconds, tests) or default.")] = "default",
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Training budget PER FOLD (wall clock).")] = None,
    max_iterations: Annotated[Optional[int], typer.Option("--max-iterations", help="Override the preset's PPO iteration cap per fold.")] = None,
    device: Annotated[str, typer.Option("--device", help="Where each fold trains: cpu (default, reproducible), auto, cuda, cuda:N, mps.")] = "cpu",
    refit: Annotated[bool, typer.Option("--refit-variant", help="Also the variant 'M-RMS refit (train+val)': per fold a fresh policy trained on train + validation for the iteration count early stopping chose.")] = False,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Block-bootstrap resamples for the 90 % intervals.")] = 2000,
    block_days: Annotated[int, typer.Option("--block-days", help="Bootstrap block length in trading days.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the training, the bootstrap and the random-weights network.")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json, tables.md, the plot and each fold's artifact (foldK/mrms).")] = Path("runs/eval/mrms"),
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Compare the trained M-RMS with the sizing rules traders use, walk-forward and out of sample.

    The signals' last --test-fraction is cut by trading day into --folds consecutive test
    periods. In each fold the M-RMS is retrained on everything before the test period (early
    stopping on the END of that window), (c) half-Kelly and (d) the grid rule are refitted on
    the same window, and every strategy trades the fold's test signals through the same
    simulator, account and rule checks: the M-RMS; (a) 1 contract, 2 ATR, 2R; (b) 1 %
    fixed-fractional; (c); (d); (e) the network with random weights. No trade crosses a
    boundary. Prints a per-fold table, the pooled out-of-sample table, 90 % block-bootstrap
    intervals of the Sortino and Calmar differences on the pooled daily series, the verdict and
    the reference synergy signals. A rerun reuses finished fold artifacts in --out.
    --folds 1 --test-fraction 0.15 is the single 70/15/15 split of `train mrms`; --artifact
    evaluates an existing artifact on its own split.

    Example: algospace eval mrms --folds 4 --max-minutes 5 --out runs/eval/mrms
    """
    if artifact is not None:
        _eval_mrms_artifact(artifact, data, bootstrap, block_days, seed, out, quiet)
        return
    from algospace.evaluation.mrms_walkforward import evaluate_walk_forward, markdown_tables, write_results
    from algospace.training.mrms_config import MRMSTrainConfig

    cfg = MRMSTrainConfig.preset_with_options(preset, seed=seed, device=device,
                                              max_minutes=max_minutes, max_iterations=max_iterations)
    ev = evaluate_walk_forward(data, cfg, out, folds=folds, test_fraction=test_fraction, n_boot=bootstrap, block_days=block_days,
                               seed=seed, progress=not quiet, refit=refit)
    paths = write_results(ev, out)
    typer.echo(markdown_tables(ev))
    typer.echo(ev.verdict)
    _echo_synergy(ev.synergy)
    typer.echo(f"results: {paths['results']}, tables: {paths['tables']}, plot: {paths['plot']}")


def _echo_synergy(syn: dict[str, Any]) -> None:
    typer.echo(f"\nreference 4-pattern synergy: {syn['events']} events in the whole sample, {syn['in_test_period']} in the test period(s)")
    for label in ("all", "test_period"):
        for name, r in syn.get(label, {}).items():
            typer.echo(f"  {label:11s} {name:32s} trades {r['trades']:3d}  net ${r['net_pnl']:>9,.0f}  breaches {r['rule_breaches']}")


def _eval_mrms_artifact(artifact: Path, data: str, bootstrap: int, block_days: int, seed: int, out: Path, quiet: bool) -> None:
    """`eval mrms --artifact`: the single chronological split of one trained artifact."""
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
    _echo_synergy(ev.synergy)
    results = {"proxy": ev.proxy, "mode": "single split", "test_period": ev.test_period, "test_signals": ev.n_test_signals,
               "metrics": ev.metrics, "intervals_90": ev.intervals, "fitted_on_training_period": ev.fitted, "synergy": ev.synergy,
               "verdict": ev.verdict, "bootstrap": {"resamples": bootstrap, "block_days": block_days, "seed": seed},
               "plots": [str(plot)], "artifact": str(artifact)}
    atomic_write_text(out / "results.json", json.dumps(results, indent=2, default=str))
    typer.echo(f"results: {out / 'results.json'}, plot: {plot}")


def _out_of_sample_artifact(artifact: Path, train_end: str) -> Any:
    """Load --artifact for the SPY walk-forward; refuse one whose training data reaches train_end."""
    import pandas as pd

    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.errors import InputError

    engine = RegimeDetectionEngine.load(artifact)
    end = engine.manifest.training_data.end
    if not end or pd.Timestamp(end) >= pd.Timestamp(train_end, tz="America/New_York"):
        raise InputError(
            f"The artifact's training data ends {end or 'at an unknown date'}, not before --spy-train-end {train_end}: "
            "its vectors would not be out of sample. Omit --artifact (an RDE is then trained on the earlier bars) "
            "or pass a later --spy-train-end."
        )
    return engine


def _spy_walk_forward(
    cfg: Any, artifact: Optional[Path], engine: Any, train_end: str, cost_bps: float, seed: int, out: Path, quiet: bool
) -> dict[str, Any]:
    """`eval rde`'s SPY part: run `spy_regime_eval`, print its tables, plot the equity curves."""
    import pandas as pd

    from algospace.data import sample
    from algospace.evaluation.rde_eval import plot_spy
    from algospace.evaluation.spy_eval import plot_equity, spy_regime_eval

    res = spy_regime_eval(cfg, sample("spy-1m"), train_end, cost_bps=cost_bps, seed=seed, progress=not quiet, engine=engine)
    vol = res.volatility
    typer.echo(f"SPY next-day log realised vol, walk-forward {vol['first_day']} .. {vol['last_day']} ({vol['test_days']} days), "
               f"out-of-sample R^2: HAR-RV {vol['har_r2']:.3f}")
    for name, r in vol["signals"].items():
        typer.echo(f"  + {name:26s} R^2 {r['r2']:.3f}  gain {r['gain']:+.4f}  90% [{r['gain_low']:+.4f}, {r['gain_high']:+.4f}]")
    for rule, strat in (("hold the best (bull) state only", res.strategy), ("hold every state with a positive mean", res.strategy_positive)):
        typer.echo(f"SPY 0/1 regime strategy, {rule}, net of {cost_bps:g} bp per unit turnover:")
        for name, r in strat.stats.items():
            diff = "" if "sharpe_minus_bh" not in r else (
                f"  vs B&H {r['sharpe_minus_bh']:+.2f} [{r['sharpe_minus_bh_low']:+.2f}, {r['sharpe_minus_bh_high']:+.2f}]")
            typer.echo(f"  {name:16s} Sharpe {r['sharpe']:.2f}  max DD {r['max_drawdown']:.1%}  turnover/yr {r['turnover_per_year']:.1f}  "
                       f"invested {r['time_invested']:.0%}{diff}")
    plot_equity(res.strategy, out / "spy_strategies.png")
    plot_spy(res.engine, sample("spy-1m"), pd.Timestamp(train_end, tz="America/New_York"), out / "spy_regimes.png")
    return {"volatility": vol, "strategy_best_state": res.strategy.stats, "strategy_positive_states": res.strategy_positive.stats,
            "training": res.training, "settings": res.settings,
            "artifact": str(artifact) if artifact else None}
