"""`algospace demo`: the main job on the bundled sample."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the `demo` command to the root app."""

    @app.command("demo")
    def demo() -> None:
        """Run the main job on the bundled SPY sample.

        Example: algospace demo
        """
        typer.echo("demo: not built yet")
