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
from algospace.artifacts.legacy import checkpoint_from_probe, guess_kind, probe_file
from algospace.artifacts.load import file_problems, load_artifact, read_manifest
from algospace.errors import AlgoSpaceError

FEATURE_SPEC_DIR = "feature_spec"  # where training stores the fitted FeatureSpec inside an artifact


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


def inspect_artifact(path: str | Path, *, deep: bool = False) -> ArtifactReport | LegacyReport:
    """Report on an artifact directory (checksums; with deep=True also a full strict load on CPU),
    or on a legacy .pth file (format, layout, placeholder / code detection)."""
    p = Path(path)
    if p.is_file():
        return _inspect_legacy(p)
    report = ArtifactReport(path=p, manifest=None, size_bytes=_tree_size(p) if p.is_dir() else 0)
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
    report.unlisted_files = sorted(set(_files(p)) - set(manifest.files) - {MANIFEST_FILE})
    if manifest.provenance == "untrained":
        report.flags.append("UNTRAINED: refused by loaders unless allow_untrained=True")
    if manifest.provenance == "legacy-import":
        report.flags.append("LEGACY-IMPORT: weights from the original system, not trained by algospace")
        if manifest.legacy is not None and manifest.legacy.inference_only:
            report.flags.append(f"INFERENCE-ONLY: not imported: {', '.join(manifest.legacy.not_imported)}")
    if report.unlisted_files:
        report.flags.append(f"files not covered by the manifest (ignored): {', '.join(report.unlisted_files)}")
    if deep and not problems:
        try:
            load_artifact(p, device="cpu", allow_untrained=True)
            report.checks.append(Check("load", True, "config, strict keys/shapes, finite weights"))
        except AlgoSpaceError as exc:
            report.checks.append(Check("load", False, str(exc)))
        if (p / FEATURE_SPEC_DIR).exists():
            report.checks.append(_feature_spec_check(p, manifest))
    return report


def _feature_spec_check(root: Path, manifest: Manifest) -> Check:
    """The stored feature spec loads and is the one the manifest says the model was trained on."""
    from algospace.features import FeatureSpec  # features are heavy; only verify needs them

    try:
        spec = FeatureSpec.load(root / FEATURE_SPEC_DIR)
    except AlgoSpaceError as exc:
        return Check("feature spec", False, f"{FEATURE_SPEC_DIR}/ does not load: {exc}")
    expected = manifest.feature_spec_fingerprint
    if expected is None:
        return Check("feature spec", False, f"{FEATURE_SPEC_DIR}/ is stored (fingerprint {spec.fingerprint[:16]}) but "
                     "the manifest records no feature_spec_fingerprint; re-save the artifact with it")
    if spec.fingerprint != expected:
        return Check("feature spec", False, f"{FEATURE_SPEC_DIR}/ has fingerprint {spec.fingerprint[:16]} but the "
                     f"manifest says the model was trained on {expected[:16]}; the artifact is inconsistent, "
                     "restore or re-train it")
    return Check("feature spec", True, f"{FEATURE_SPEC_DIR}/ loads, fingerprint {expected[:16]} matches the manifest")


def verify_artifact(path: str | Path) -> ArtifactReport:
    """Full verification of an artifact directory: manifest, checksums and a strict load on CPU."""
    report = inspect_artifact(path, deep=True)
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


def _files(root: Path) -> list[str]:
    out = []
    for dirpath, _d, filenames in os.walk(root):
        for n in filenames:
            out.append((Path(dirpath) / n).relative_to(root).as_posix())
    return out


def _tree_size(root: Path) -> int:
    return sum((root / f).stat().st_size for f in _files(root))
