"""`algospace demo`: the main job on the bundled sample, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from algospace.cli.choices import Preset


def register(app: typer.Typer) -> None:
    """Attach the `demo` command to the root app."""

    @app.command("demo")
    def demo(
        out: Annotated[Path, typer.Option("--out", help="Run folder.")] = Path("runs/demo"),
        preset: Annotated[Preset, typer.Option("--preset", help="Model presets: default (minutes) or tiny (seconds).")] = "default",
        max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Total training budget in minutes, split 8:5:3 over RDE, M-RMS and core (default 4 + 2.5 + 1.5).")] = None,
        retrain: Annotated[bool, typer.Option("--retrain", help="Train the models again even when OUT/models holds verified ones.")] = False,
        device: Annotated[str, typer.Option("--device", help="Training device: cpu (default, reproducible), cuda, auto.")] = "cpu",
    ) -> None:
        """Run the whole system on the bundled SPY sample and write OUT/report.html.

        Trains the Regime Detection Engine, the M-RMS and the decision core (progress bars; a
        second run reuses the verified models), runs `check` on them, backtests them out of
        sample with the event-driven runtime against a fixed 1-contract baseline, and writes a
        self-contained report page. Ends with a five-line summary.

        Example: algospace demo --out runs/demo      (algospace demo --retrain trains again)
        """
        from algospace.demo import DemoBudget, run_demo

        budget = None if max_minutes is None else DemoBudget(max_minutes * 8 / 16, max_minutes * 5 / 16, max_minutes * 3 / 16)
        run_demo(out, preset=preset, budget=budget, retrain=retrain, device=device, echo=typer.echo)
