"""`algospace demo`: the main job on the bundled sample, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from algospace.cli.choices import Preset


def register(app: typer.Typer) -> None:
    """Attach the `demo` command to the root app."""

    @app.command("demo")
    def demo(
        out: Annotated[Path, typer.Option("--out", help="Run folder.")] = Path("runs/demo"),
        preset: Annotated[Preset, typer.Option("--preset", help="RDE preset: default (minutes) or tiny (seconds).")] = "default",
        max_minutes: Annotated[float, typer.Option("--max-minutes", help="RDE training budget in minutes.")] = 7.0,
    ) -> None:
        """Run the main job on the bundled SPY sample.

        Loads the real SPY 1-minute sample, builds 30-minute session bars, fits the 155
        regime features on the training period, trains the Regime Detection Engine, saves
        it to OUT/models/rde/ (a verified artifact), reloads it and prints a regime summary.

        Example: algospace demo --preset tiny --out runs/quick
        """
        import numpy as np

        from algospace.data import make_bars, sample
        from algospace.engines.rde import RegimeDetectionEngine
        from algospace.training.rde import train_rde
        from algospace.training.rde_config import RDETrainConfig

        bars = sample("spy-1m")
        bars30 = make_bars(bars, 30, "SPY")
        typer.echo(f"SPY sample: {len(bars):,} 1-minute bars {bars.index[0]} .. {bars.index[-1]}")
        typer.echo(f"30-minute session bars: {len(bars30):,} ({bars30.index.tz_convert('America/New_York').normalize().nunique()} sessions)")

        rde_dir = out / "models" / "rde"
        cfg = RDETrainConfig.preset(preset, max_minutes=max_minutes)  # type: ignore[arg-type]
        result = train_rde(bars30, rde_dir, cfg, instrument="SPY")
        m = result.metrics
        typer.echo(
            f"RDE: {result.model.encoder_parameters():,} inference parameters, {m['epochs']} epochs ({m['stop_reason']}); "
            f"test recon {m['test']['recon']:.4f} vs input-blind {m['test']['blind_recon']:.4f}; "
            f"active latent dims {m['test']['active_dims']}/{result.model.config.latent_dim}"
        )

        engine = RegimeDetectionEngine.load(rde_dir)
        series = engine.regime_series(bars30)
        test = series.loc[series.index >= result.data.boundaries["test"]]
        typer.echo(f"artifact: {rde_dir} (verified on reload); regime vectors for {len(series):,} bars")
        typer.echo("held-out regime vectors (mean, std per dimension):")
        for col in test.columns:
            v = test[col].to_numpy()
            typer.echo(f"  {col}: {np.mean(v):+.3f} +- {np.std(v):.3f}")
        last = series.iloc[-1].to_numpy()
        typer.echo(f"latest bar {series.index[-1]}: regime vector {np.array2string(last, precision=3)}")
