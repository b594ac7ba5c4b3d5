"""`inspect_artifact` / `verify_artifact`: what an artifact (or legacy .pth) is, and whether it is sound.

Inspection never raises for a damaged artifact: it reports each check, so `algospace models
inspect` can show everything at once and `verify` can exit non-zero on any failure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from algospace.artifacts.format import MANIFEST_FILE, Manifest
from algospace.artifacts.atomic_dir import is_temp_name
from algospace.artifacts.legacy import checkpoint_from_probe, guess_kind
from algospace.artifacts.pickle_scan import probe_file
from algospace.artifacts.layout import FEATURE_SPEC_DIR, has_feature_spec, read_feature_spec, tree_entries
from algospace.artifacts.load import file_problems, load_artifact, read_manifest, unlisted_files
from algospace.errors import AlgoSpaceError


@dataclass
class Check:
    """One verification step and its outcome."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class ArtifactReport:
    """Everything `inspect` shows about an artifact directory."""

    path: Path
    manifest: Manifest | None
    size_bytes: int
    checks: list[Check] = field(default_factory=list)
    unlisted_files: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


@dataclass
class LegacyReport:
    """Everything `inspect` shows about a legacy .pth file, read without converting it."""

    path: Path
    size_bytes: int
    sha256: str
    format: str
    status: str
    detail: str
    layout: str | None = None
    n_tensors: int = 0
    parameter_count: int = 0
    guessed_kind: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def inspect_artifact(
    path: str | Path, *, deep: bool = False, allow_extra: bool = True
) -> ArtifactReport | LegacyReport:
    """Report on an artifact directory (checksums; with deep=True also a full strict load on CPU
    and the model's answer to its fixed probe input), or on a legacy .pth file (format, layout,
    placeholder / code detection). With allow_extra=False, files the manifest does not cover fail."""
    p = Path(path)
    if p.is_file():
        return _inspect_legacy(p)
    entries = tree_entries(p) if p.is_dir() else None
    report = ArtifactReport(path=p, manifest=None, size_bytes=sum(entries.files.values()) if entries else 0)
    try:
        manifest = read_manifest(p)
    except AlgoSpaceError as exc:
        report.checks.append(Check("manifest", False, str(exc)))
        return report
    report.manifest = manifest
    report.checks.append(Check("manifest", True, f"format version {manifest.format_version}, kind {manifest.kind}"))
    problems = file_problems(p, manifest)
    report.checks.append(
        Check("checksums", not problems, "; ".join(problems) if problems else f"{len(manifest.files)} files match")
    )
    report.unlisted_files = unlisted_files(entries, manifest) if entries is not None else []
    if manifest.provenance == "untrained":
        report.flags.append("UNTRAINED: refused by loaders unless allow_untrained=True")
    if manifest.provenance == "legacy-import":
        report.flags.append("LEGACY-IMPORT: weights from the original system, not trained by algospace")
        if manifest.legacy is not None and manifest.legacy.inference_only:
            report.flags.append(f"INFERENCE-ONLY: not imported: {', '.join(manifest.legacy.not_imported)}")
    if report.unlisted_files:
        shown = ", ".join(report.unlisted_files)
        if allow_extra:
            report.flags.append(f"files not covered by the manifest (accepted with allow_extra): {shown}")
        else:
            report.checks.append(Check(
                "unlisted files", False, f"not covered by the manifest: {shown}; nothing vouches for them. Remove "
                "them, or accept them explicitly with --allow-extra"))
    if deep and not problems:
        try:
            load_artifact(p, device="cpu", allow_untrained=True)
            report.checks.append(Check("load", True, "config, strict keys/shapes, finite weights, sound probe output"))
        except AlgoSpaceError as exc:
            report.checks.append(Check("load", False, str(exc)))
        if has_feature_spec(p, manifest):
            report.checks.append(_feature_spec_check(p, manifest))
    return report


def _feature_spec_check(root: Path, manifest: Manifest) -> Check:
    """The stored feature spec loads and is the one the manifest says the model was trained on."""
    try:
        spec = read_feature_spec(root, manifest)
    except AlgoSpaceError as exc:
        return Check("feature spec", False, str(exc))
    return Check("feature spec", True, f"{FEATURE_SPEC_DIR}/ loads, fingerprint {spec.fingerprint[:16]} matches the manifest")


def verify_artifact(path: str | Path, *, allow_extra: bool = False) -> ArtifactReport:
    """Full verification of an artifact directory: manifest, checksums, no file the manifest does
    not cover (unless allow_extra), a strict load on CPU and a sound answer to the probe input."""
    report = inspect_artifact(path, deep=True, allow_extra=allow_extra)
    if isinstance(report, LegacyReport):
        return ArtifactReport(
            path=report.path, manifest=None, size_bytes=report.size_bytes,
            checks=[Check("artifact", False, f"{report.path} is a legacy file ({report.format}, {report.status}), "
                          "not an artifact directory; convert it with algospace models import-legacy.")],
        )
    return report


def find_artifacts(root: str | Path) -> list[Path]:
    """Artifact directories under `root` (found by their manifest.json; temp dirs of saves skipped)."""
    base = Path(root)
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not is_temp_name(d))
        if MANIFEST_FILE in filenames:
            found.append(Path(dirpath))
            dirnames[:] = []  # an artifact's sub-directories are its extra files, not artifacts
    return found


def _inspect_legacy(p: Path) -> LegacyReport:
    probe = probe_file(p)
    rep = LegacyReport(path=p, size_bytes=probe.size, sha256=probe.sha256, format=probe.format,
                       status=probe.status, detail=probe.detail)
    if probe.status == "checkpoint":
        try:
            ckpt = checkpoint_from_probe(probe)
        except AlgoSpaceError as exc:
            rep.status, rep.detail = "unreadable", str(exc)
            return rep
        rep.layout = ckpt.layout
        rep.n_tensors = len(ckpt.state_dict)
        rep.parameter_count = sum(t.numel() for k, t in ckpt.state_dict.items() if not k.endswith(".pe"))
        rep.guessed_kind = guess_kind(ckpt.state_dict)
        rep.extras = dict(ckpt.extras)
    return rep
