"""`algospace models ...`: inspect, verify, list and import model artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from algospace.errors import ArtifactError

app = typer.Typer(
    help="Model artifacts: inspect, verify, list, import legacy .pth files.\n\nExample: algospace models list runs/",
    no_args_is_help=True,
)


def _console() -> Console:
    return Console(soft_wrap=True)


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


@app.command("inspect")
def inspect_cmd(
    path: Annotated[Path, typer.Argument(help="Artifact directory, or a legacy .pth file.")],
) -> None:
    """Show what an artifact or a legacy .pth file is.

    For a directory: kind, parameters, size, checksum status, provenance, feature spec,
    training summary and flags. For a .pth file: its format, layout, tensors and whether it
    is a placeholder or needs code to load (found without running anything from it).

    Example: algospace models inspect runs/rde-1
    """
    from algospace.artifacts import LegacyReport, inspect_artifact
    from algospace.artifacts.layout import FEATURE_SPEC_DIR, has_feature_spec

    report = inspect_artifact(path)
    console = _console()
    table = Table(title=f"model: {path}", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value", overflow="fold")
    if isinstance(report, LegacyReport):
        rows = [
            ("type", f"legacy file ({report.format})"),
            ("status", report.status),
            ("detail", report.detail),
            ("size", _size(report.size_bytes)),
            ("sha256", report.sha256),
        ]
        if report.layout:
            rows += [
                ("layout", report.layout),
                ("tensors", str(report.n_tensors)),
                ("parameters", f"{report.parameter_count:,} (positional table excluded)"),
                ("looks like kind", report.guessed_kind or "unknown"),
                ("extras", ", ".join(f"{k}={v}" for k, v in report.extras.items()) or "none"),
            ]
        for k, v in rows:
            table.add_row(k, v)
        console.print(table)
        if report.status != "checkpoint":  # shown, but not sound: placeholder, needs code, unreadable
            raise ArtifactError(f"{path} is not a loadable checkpoint ({report.status}): {report.detail}")
        return
    m = report.manifest
    if m is None:
        table.add_row("status", "[red]not a readable artifact[/red]")
        table.add_row("detail", report.checks[0].detail)
        console.print(table)
        raise ArtifactError(report.checks[0].detail)
    td = m.training_data
    span = f"{td.start:%Y-%m-%d} .. {td.end:%Y-%m-%d}" if td.start and td.end else "not recorded"
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in m.training_metrics.items()) or "none"
    rows = [
        ("kind", m.kind),
        ("provenance", m.provenance),
        ("parameters", f"{m.parameter_count:,}"),
        ("size", _size(report.size_bytes)),
        *((f"check: {c.name}", ("ok: " if c.ok else "[red]FAILED[/red]: ") + c.detail) for c in report.checks),
        ("weights sha256", m.weights_sha256),
        ("feature spec", (m.feature_spec_fingerprint or "not recorded")
         + (f" ({FEATURE_SPEC_DIR}/ stored)" if has_feature_spec(path, m) else "")),
        ("training data", f"{td.fingerprint or 'no fingerprint'}; {span}" + (f"; {td.description}" if td.description else "")),
        ("training metrics", metrics),
        ("seed", str(m.seed) if m.seed is not None else "not recorded"),
        ("created", f"{m.created_at:%Y-%m-%d %H:%M:%S} UTC, algospace {m.algospace_version}, torch {m.torch_version}"),
        ("format version", str(m.format_version)),
        ("files", ", ".join(m.files)),
    ]
    if m.legacy is not None:
        rows.append(("legacy source", f"{m.legacy.file_name} ({m.legacy.layout} layout), sha256 {m.legacy.sha256[:16]}..."))
        rows.append(("dropped", "; ".join(m.legacy.dropped_keys) or "nothing"))
    for n in m.notes:
        rows.append(("note", n))
    for f in report.flags:
        rows.append(("flag", f"[yellow]{f}[/yellow]"))
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
    if not report.ok:
        raise ArtifactError(_failed_checks(path, report.checks))


def _failed_checks(path: Path, checks: list) -> str:
    """One line naming every failed check and its reason (the error line says it all)."""
    from algospace.cli.contract import one_line

    failed = [c for c in checks if not c.ok]
    return f"{path} failed verification ({len(failed)} check(s)): " + "; ".join(f"{c.name}: {one_line(c.detail)}" for c in failed)


@app.command("verify")
def verify_cmd(
    path: Annotated[Path, typer.Argument(help="Artifact directory.")],
    require_trained: Annotated[
        bool, typer.Option("--require-trained", help="Also fail for provenance other than 'trained'.")
    ] = False,
    allow_extra: Annotated[
        bool, typer.Option("--allow-extra", help="Accept files the manifest does not cover (listed, not checked).")
    ] = False,
) -> None:
    """Verify an artifact and exit non-zero on any failure.

    Checks the manifest and format version, that the artifact holds regular files only (no
    symlink, FIFO or device) and none the manifest does not cover (unless --allow-extra), the
    sha256 of every file, the config (types and ranges), the weights (readable, finite), a
    strict load of the state dict on the CPU, a sound answer to a fixed probe input and, when
    the artifact stores a feature_spec/, that the spec loads and its fingerprint is the
    manifest's feature_spec_fingerprint.

    Example: algospace models verify runs/rde-1
    """
    from algospace.artifacts import verify_artifact

    console = _console()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as progress:
        progress.add_task(f"verifying {path}", total=None)
        report = verify_artifact(path, allow_extra=allow_extra)
    for c in report.checks:
        mark = "[green]ok[/green]" if c.ok else "[red]FAILED[/red]"
        console.print(f"{mark} {c.name}: {c.detail}")
    for f in report.flags:
        console.print(f"[yellow]flag[/yellow] {f}")
    if not report.ok:
        raise ArtifactError(_failed_checks(path, report.checks))
    if require_trained and report.manifest is not None and report.manifest.provenance != "trained":
        raise ArtifactError(f"{path} is sound but its provenance is '{report.manifest.provenance}', not 'trained'.")
    console.print(f"[green]{path}: verified[/green]")


@app.command("list")
def list_cmd(
    root: Annotated[Optional[Path], typer.Argument(help="Directory to search (default: the config's runs_dir, runs/).")] = None,
    verify: Annotated[
        bool,
        typer.Option("--verify/--no-verify", help="Fully verify each artifact (checksums, config, weights, feature "
                     "spec); --no-verify reads only the manifests (fast, but says nothing about the files)."),
    ] = True,
) -> None:
    """List the artifacts under a directory, with an honest status for each.

    Finds artifact directories by their manifest.json (the hidden temporary directories of
    saves in progress are skipped) and shows kind, provenance, parameters and creation time.
    By default every artifact is fully verified, as `models verify` does: the status is
    "verified" or "FAILED" with the first failing check. With --no-verify only the manifests
    are read and the status says "manifest ok (not verified)". An unreadable manifest is
    listed as broken.

    Example: algospace models list runs/
    """
    from algospace.artifacts import find_artifacts, read_manifest, verify_artifact
    from algospace.config import get_config
    from algospace.errors import AlgoSpaceError

    base = root if root is not None else get_config().runs_dir
    if root is None and not base.exists():
        _console().print(f"0 artifact(s): {base} does not exist yet (training writes artifacts there)")
        return
    if not base.is_dir():
        found = "is not a directory" if base.exists() else "does not exist"
        raise ArtifactError(f"{base} {found}; pass the directory that holds your artifacts.")
    table = Table(title=f"artifacts under {base}")
    for col in ("path", "kind", "provenance", "parameters", "created (UTC)", "status" if verify else "status (manifest only)"):
        table.add_column(col, overflow="fold")
    paths = find_artifacts(base)
    n_failed, first_failure = 0, ""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as progress:
        task = progress.add_task(f"{'verifying' if verify else 'reading'} artifacts under {base}", total=len(paths))
        for p in paths:
            try:
                m = read_manifest(p)
            except AlgoSpaceError as exc:
                n_failed += 1
                first_failure = first_failure or f"{_shown(p, base)}: broken manifest: {str(exc).splitlines()[0]}"
                table.add_row(_shown(p, base), "?", "?", "?", "?", f"[red]broken[/red]: {str(exc).splitlines()[0][:80]}")
                progress.advance(task)
                continue
            status = "manifest ok (not verified)"
            if verify:
                report = verify_artifact(p)
                failed = [c for c in report.checks if not c.ok]
                if failed:
                    n_failed += 1
                    detail = failed[0].detail.splitlines()[0].replace(f"{p}/", "").replace(str(p), "the artifact")
                    status = f"[red]FAILED[/red] {failed[0].name}: {detail[:80]}"
                    first_failure = first_failure or f"{_shown(p, base)}: {failed[0].name}: {detail}"
                else:
                    status = "[green]verified[/green]"
            table.add_row(_shown(p, base), m.kind, m.provenance, f"{m.parameter_count:,}", f"{m.created_at:%Y-%m-%d %H:%M}", status)
            progress.advance(task)
    console = _console()
    console.print(table)
    summary = f"{len(paths)} artifact(s)"
    if verify:
        summary += f", {n_failed} failed verification" if n_failed else ", all verified"
    else:
        summary += " (manifests only; run without --no-verify to check the files)"
    console.print(summary)
    if n_failed:
        raise ArtifactError(
            f"{n_failed} of {len(paths)} artifact(s) under {base} failed {'verification' if verify else 'to read'} "
            f"(first: {first_failure}); run `algospace models verify PATH` on each for every reason."
        )


def _shown(p: Path, base: Path) -> str:
    """An artifact's path relative to the listed directory (the table title names that)."""
    return p.relative_to(base).as_posix() if p != base else "."


@app.command("import-legacy")
def import_legacy_cmd(
    file: Annotated[Path, typer.Argument(help="Legacy .pth checkpoint of the original system.")],
    kind: Annotated[str, typer.Option("--kind", help="Model kind: rde, mrms or core.")],
    out: Annotated[Path, typer.Option("--out", help="Artifact directory to write.")],
) -> None:
    """Convert a legacy .pth checkpoint into an artifact (provenance legacy-import).

    The file is read with torch.load(weights_only=True) only, after a static scan that
    refuses files needing code and names placeholder pickles. The original's key names are
    mapped onto ours; what has no counterpart (the RDE's context decoder, its positional
    table) is dropped and recorded in the manifest. Imported artifacts are never called
    trained.

    Example: algospace models import-legacy rde_model.pth --kind rde --out runs/rde-legacy
    """
    from algospace.artifacts import import_legacy

    console = _console()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as progress:
        progress.add_task(f"importing {file.name}", total=None)
        manifest = import_legacy(file, kind, out)
    console.print(f"[green]imported[/green] {file} -> {out} (kind {manifest.kind}, provenance {manifest.provenance}, "
                  f"{manifest.parameter_count:,} parameters)")
    if manifest.legacy is not None:
        for d in manifest.legacy.dropped_keys:
            console.print(f"dropped: {d}")
        if manifest.legacy.inference_only:
            console.print(f"[yellow]inference only[/yellow]: not imported (fresh init): {', '.join(manifest.legacy.not_imported)}")
    for n in manifest.notes:
        console.print(f"note: {n}")
