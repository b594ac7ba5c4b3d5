"""`algospace check MODELS_DIR`: the readiness check of a models directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    """Attach the `check` command to the root app."""

    @app.command("check")
    def check(
        models_dir: Annotated[Path, typer.Argument(help="Directory holding rde/, mrms/ and core/.", exists=True,
                                                   file_okay=False, dir_okay=True)],
        data: Annotated[str, typer.Option("--data", help="Bars the outputs are checked on: a bar file or a sample name.")] = "spy-1m",
        json_out: Annotated[Optional[str], typer.Option("--json", help="Write the rows as JSON to FILE ('-': stdout).")] = None,
        html_out: Annotated[Optional[Path], typer.Option("--html", help="Write one self-contained HTML page to FILE.")] = None,
        device: Annotated[str, typer.Option("--device", help="auto (CUDA too when present), cpu, or cuda (required).")] = "auto",
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress and no table (exit code and files only).")] = False,
    ) -> None:
        """Check that the models are ready: integrity, provenance, size, compatibility, input probes,
        output sanity on real data, latency and memory, devices, recorded evaluation.

        Exit code 0 only when every check passes ("not tested" rows, e.g. CUDA without a GPU, are
        shown as such and do not pass for ready); 1 when any fails; 2 on a usage error.

        Example: algospace check runs/demo/models --html runs/demo/check.html
        """
        from rich.console import Console

        from algospace.check import run_check
        from algospace.check.render import html_page, print_report
        from algospace.io import atomic_write_text

        if device not in ("auto", "cpu", "cuda"):
            raise typer.BadParameter(f"must be auto, cpu or cuda; got {device!r}", param_hint="--device")
        console = Console(stderr=json_out == "-")
        with console.status("checking", spinner="dots") if not quiet else _null() as status:
            report = run_check(models_dir, data, device=device,
                               progress=None if quiet else (lambda msg: status.update(f"checking {msg}")))
        if not quiet:
            print_report(report, console)
        payload = json.dumps(report.to_dict(), indent=2, default=str)
        if json_out == "-":
            sys.stdout.write(payload + "\n")
        elif json_out:
            atomic_write_text(Path(json_out), payload)
        if html_out is not None:
            atomic_write_text(html_out, html_page(report))
        if not report.ok:
            first = report.failures[0]
            more = f" (+{len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
            typer.secho(f"error: check: {first.model} {first.section} / {first.name}: {first.detail[:200]}; do: "
                        f"{first.remedy}{more}", err=True, fg="red")
            raise typer.Exit(1)


class _null:
    def __enter__(self) -> "_null":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, *_: object) -> None:
        return None
