"""`load_artifact`: artifact directory -> (model in eval mode, manifest), verified at every step.

Order: manifest and format version -> kind -> sha256 of every file -> provenance and feature
spec -> config -> weights (safetensors, straight to the device) -> finite values -> strict
key/shape/dtype check -> `load_state_dict(strict=True)` -> eval(). Nothing is unpickled.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path, PurePosixPath
from typing import Any

import torch
import torch.nn as nn
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file

from algospace.devices import resolve_device
from algospace.artifacts.format import CONFIG_FILE, FORMAT_VERSION, MANIFEST_FILE, WEIGHTS_FILE, Manifest
from algospace.artifacts.layout import TreeEntries, describe_special, tree_entries
from algospace.artifacts.safety import non_finite_keys, require_safe_torch
from algospace.errors import ArtifactError, InputError
from algospace.hashing import sha256_file
from algospace.models.registry import ModelSpec, config_from_dict, get_model_spec

log = logging.getLogger(__name__)


def load_artifact(
    path: str | Path,
    *,
    device: str | torch.device = "auto",
    kind: str | None = None,
    allow_untrained: bool = False,
    feature_spec_fingerprint: str | None = None,
    allow_spec_mismatch: bool = False,
) -> tuple[nn.Module, Manifest]:
    """Load and verify an artifact; returns (model in eval mode, manifest).

    kind: the kind the caller expects (`rde`, `mrms`, ...); None accepts any registered kind.
    allow_untrained: accept a `provenance: untrained` artifact (flagged in manifest.warnings).
    feature_spec_fingerprint: the fingerprint of the caller's FeatureSpec; a different one in
        the artifact is refused unless allow_spec_mismatch (then flagged). None: no check.

    Example:
        model, manifest = load_artifact("runs/rde-1", device="cpu", kind="rde",
                                        feature_spec_fingerprint=spec.fingerprint)
    """
    require_safe_torch()
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise InputError(
            f"An artifact is loaded from the path of its directory (a str or Path); received {type(path).__name__} "
            f"{path!r}. Pass e.g. 'runs/demo/models/rde'."
        )
    if kind is not None:
        get_model_spec(kind)  # an unknown kind is named as such, with the valid ones
    dev = resolve_device(device)
    root = Path(path)
    manifest = read_manifest(root)
    if kind is not None and manifest.kind != kind:
        raise ArtifactError(
            f"{root} holds a {manifest.kind!r} model, but a {kind!r} model was asked for; "
            f"pass the path of a {kind!r} artifact."
        )
    spec = get_model_spec(manifest.kind)
    problems = file_problems(root, manifest)
    if problems:
        raise ArtifactError(f"{root} failed verification:\n  " + "\n  ".join(problems))
    warnings = _gate(root, manifest, allow_untrained, feature_spec_fingerprint, allow_spec_mismatch)
    config = read_config(root, manifest.kind)
    tensors = read_weights(root, dev)
    bad = non_finite_keys(tensors)
    if bad:
        raise ArtifactError(
            f"{root / WEIGHTS_FILE} holds NaN/inf weights: {', '.join(bad)}. A model with such weights gives "
            "meaningless outputs; re-train it or restore a good artifact."
        )
    model = _build_empty(spec, config, root)
    mismatch = state_dict_problems(model, tensors)
    if mismatch:
        raise ArtifactError(
            f"{root / WEIGHTS_FILE} does not fit the {spec.model_cls.__name__} described by its config.json:\n  "
            + "\n  ".join(mismatch)
            + "\nThe weights and config come from different models, or the model code changed; re-save the "
            "artifact from the model that produced the weights."
        )
    model = _fill(model, spec, config, tensors, dev, root)
    model.eval()
    bad_output = probe_problem(model, spec)
    if bad_output:
        raise ArtifactError(
            f"{root}: {bad_output}. Its weights are finite but the model is broken (damaged or re-signed "
            "weights, or a diverged training run); restore the artifact from a good copy or re-train it."
        )
    for w in warnings:  # opt-ins are warnings; a legacy import is a known, recorded state
        log.log(logging.INFO if w.startswith("LEGACY-IMPORT") else logging.WARNING, "%s: %s", root, w)
    return model, manifest.model_copy(update={"warnings": tuple(warnings)})


def read_manifest(root: Path) -> Manifest:
    """Parse and validate `manifest.json`, checking the format version before the schema."""
    root = Path(root)
    if not root.exists():
        leftovers = sorted(p.name for p in root.parent.glob(f".{root.name}.old-*")) if root.parent.is_dir() else []
        hint = f" An interrupted save left {leftovers[0]} beside it: rename that back to {root.name}." if leftovers else ""
        raise ArtifactError(f"No artifact at {root}: the path does not exist.{hint}")
    if not root.is_dir():
        raise ArtifactError(
            f"{root} is a file; an algospace artifact is a directory (model.safetensors, config.json, manifest.json). "
            "A legacy .pth checkpoint must be converted first: algospace models import-legacy FILE --kind KIND --out DIR."
        )
    mpath = root / MANIFEST_FILE
    if mpath.is_symlink() or (mpath.exists() and not mpath.is_file()):
        raise ArtifactError(
            f"{mpath} is {describe_special(mpath)}, not a regular file: an artifact holds regular files only, so it "
            "was not read. Restore the artifact from a good copy."
        )
    if not mpath.is_file():
        raise ArtifactError(
            f"{root} has no {MANIFEST_FILE}: it is not an algospace artifact, or an incomplete copy of one; "
            "copy the whole artifact directory again or re-save it."
        )
    raw = _read_json(mpath)
    if not isinstance(raw, dict):
        raise ArtifactError(f"{mpath} must hold a JSON object; found {type(raw).__name__}.")
    version = raw.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArtifactError(f"{mpath} has no integer format_version (found {version!r}); the file is damaged.")
    if version > FORMAT_VERSION:
        raise ArtifactError(
            f"{root} uses artifact format version {version}, newer than the {FORMAT_VERSION} this algospace "
            "understands; upgrade algospace to load it."
        )
    if version < 1:
        raise ArtifactError(f"{mpath} has format_version {version}; valid versions start at 1. The file is damaged.")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        lines = "\n  ".join(f"{'.'.join(str(x) for x in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors())
        raise ArtifactError(f"{mpath} is invalid:\n  {lines}\nRe-save the artifact; do not edit manifests by hand.") from exc


def file_problems(root: Path, manifest: Manifest, *, allow_extra: bool = True) -> list[str]:
    """Every integrity problem of the artifact's files (empty when the tree is sound).

    Entries are looked at with lstat before any is opened: a symbolic link, FIFO or device is
    named as what it is (never followed, never read, so a link to /dev/zero cannot hang the
    check). With allow_extra=False, regular files the manifest does not cover are problems too.
    """
    entries = tree_entries(root)
    problems = [
        f"{rel}: {what}; an artifact holds regular files only, so it was not read. Replace it with the real "
        "file (copy the artifact with links resolved) or restore the artifact"
        for rel, what in entries.special.items()
    ]
    for required in (WEIGHTS_FILE, CONFIG_FILE):
        if required not in manifest.files:
            problems.append(f"the manifest lists no checksum for {required}")
    if manifest.files.get(WEIGHTS_FILE, manifest.weights_sha256) != manifest.weights_sha256:
        problems.append("the manifest's weights_sha256 and files[model.safetensors] disagree")
    for rel, expected in manifest.files.items():
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts:
            problems.append(f"{rel}: a listed file lies outside the artifact directory")
            continue
        if any(rel == s or rel.startswith(s + "/") for s in entries.special):
            continue  # named above
        if rel not in entries.files:
            problems.append(f"{rel}: missing (the manifest lists it); copy the whole artifact directory again")
            continue
        found = sha256_file(root / rel)
        if found != expected:
            problems.append(
                f"{rel}: sha256 mismatch (manifest {expected[:12]}..., file {found[:12]}...): the file changed or "
                "was corrupted after saving; restore the artifact from a good copy or re-save it"
            )
    if not allow_extra:
        unlisted = unlisted_files(entries, manifest)
        if unlisted:
            problems.append(
                f"files not covered by the manifest: {', '.join(unlisted)}; nothing vouches for them. Remove them, "
                "or accept them explicitly (allow_extra=True, `--allow-extra`)"
            )
    return problems


def unlisted_files(entries: TreeEntries, manifest: Manifest) -> list[str]:
    """Regular files in the artifact that the manifest has no checksum for."""
    return sorted(set(entries.files) - set(manifest.files) - {MANIFEST_FILE})


def read_config(root: Path, kind: str) -> Any:
    """The model config dataclass from `config.json`, strictly."""
    path = root / CONFIG_FILE
    if not path.is_file():
        raise ArtifactError(f"{root} has no {CONFIG_FILE}; the model cannot be rebuilt without it.")
    return config_from_dict(kind, _read_json(path), source=str(path))


def read_weights(root: Path, device: torch.device) -> dict[str, torch.Tensor]:
    """Tensors of `model.safetensors`, placed directly on `device` (no pickle involved)."""
    path = root / WEIGHTS_FILE
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ArtifactError(
            f"{path} is not a readable safetensors file ({exc}); it is truncated or damaged. "
            "Restore the artifact from a good copy or re-save it."
        ) from exc
    if device.type == "cpu":
        # On CPU safetensors hands out views of the file mapping at the file's (8-byte) offsets.
        # A copy gives the weights their own, allocator-aligned memory: the model no longer
        # depends on the file, and matmuls take the same kernels (so the same bits) as the
        # model that was saved.
        tensors = {k: v.clone() for k, v in tensors.items()}
    return tensors


def state_dict_problems(model: nn.Module, tensors: dict[str, torch.Tensor]) -> list[str]:
    """Missing keys, unexpected keys, shape and dtype mismatches, each by name."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    out: list[str] = []
    if missing:
        out.append(f"missing keys ({len(missing)}): {', '.join(missing)}")
    if unexpected:
        out.append(f"unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
    for k, t in tensors.items():
        if k in expected:
            e = expected[k]
            if tuple(t.shape) != tuple(e.shape):
                out.append(f"shape mismatch for {k}: file {tuple(t.shape)}, model {tuple(e.shape)}")
            elif t.dtype != e.dtype:
                out.append(f"dtype mismatch for {k}: file {t.dtype}, model {e.dtype}")
    return out


def probe_problem(model: nn.Module, spec: ModelSpec) -> str | None:
    """Why the model's answer to its kind's fixed probe input is unusable (NaN/inf or beyond the
    kind's plausible magnitude), or None when it is sound. Costs one forward pass (docs/artifacts.md)."""
    if spec.probe is None:
        return None
    with torch.inference_mode():
        out = spec.probe(model).detach().float()
    if not bool(torch.isfinite(out).all()):
        n = int((~torch.isfinite(out)).sum())
        return f"the model answers the fixed probe input with NaN/inf ({n} of {out.numel()} outputs)"
    peak = float(out.abs().max()) if out.numel() else 0.0
    if peak > spec.probe_limit:
        return (f"the model answers the fixed probe input with |output| up to {peak:.3g}, beyond the plausible "
                f"{spec.probe_limit:g} for a {spec.kind!r} model")
    return None


def _build_empty(spec: ModelSpec, config: Any, root: Path) -> nn.Module:
    """The model's structure on the meta device: no memory, no random init (the weights replace it)."""
    try:
        with torch.device("meta"):
            return spec.model_cls(config)
    except Exception as exc:  # the model's own asserts/ValueErrors on a config the range checks missed
        raise _config_error(root, spec, config, exc) from exc


def _fill(
    model: nn.Module, spec: ModelSpec, config: Any, tensors: dict[str, torch.Tensor], dev: torch.device, root: Path
) -> nn.Module:
    """Strictly load `tensors` (already on `dev`) into the meta-built model and materialise the rest."""
    try:
        model.load_state_dict(tensors, strict=True, assign=True)
        if _meta_tensors(model) and spec.rebuild_buffers is not None:
            spec.rebuild_buffers(model)
        if _meta_tensors(model):
            # Non-persistent buffers nobody can rebuild: build the model for real (slower, same result).
            with dev:
                model = spec.model_cls(config)
            model.load_state_dict(tensors, strict=True, assign=True)
    except ArtifactError:
        raise
    except Exception as exc:  # keys/shapes/dtypes were checked above: what is left is the config
        raise _config_error(root, spec, config, exc) from exc
    return model


def _config_error(root: Path, spec: ModelSpec, config: Any, exc: BaseException) -> ArtifactError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ArtifactError(
        f"{root / CONFIG_FILE} describes a {spec.model_cls.__name__} that cannot be built ({type(exc).__name__}: "
        f"{reason}; config {config}). The file was edited or damaged after saving; restore the artifact from a "
        "good copy or re-save it."
    )


def _meta_tensors(model: nn.Module) -> list[str]:
    named = list(model.named_parameters()) + list(model.named_buffers())
    return [n for n, t in named if t.is_meta]


def _gate(
    root: Path,
    manifest: Manifest,
    allow_untrained: bool,
    feature_spec_fingerprint: str | None,
    allow_spec_mismatch: bool,
) -> list[str]:
    """Refuse untrained artifacts and feature-spec mismatches unless opted in; return the flags."""
    warnings: list[str] = []
    if manifest.provenance == "untrained":
        if not allow_untrained:
            raise ArtifactError(
                f"{root} is an untrained model (provenance 'untrained'): its outputs mean nothing. Train it "
                "(algospace train ...), or pass allow_untrained=True for tests and plumbing only."
            )
        warnings.append("UNTRAINED: provenance 'untrained', loaded with allow_untrained=True; outputs mean nothing")
    if manifest.provenance == "legacy-import":
        src = manifest.legacy.file_name if manifest.legacy else "a legacy file"
        note = "imported from the original system's " + src + ", not trained by algospace"
        if manifest.legacy is not None and manifest.legacy.inference_only:
            note += f"; inference only ({len(manifest.legacy.not_imported)} training-only tensors not imported)"
        warnings.append("LEGACY-IMPORT: " + note)
    if feature_spec_fingerprint is not None and manifest.feature_spec_fingerprint != feature_spec_fingerprint:
        found = manifest.feature_spec_fingerprint or "none recorded"
        if not allow_spec_mismatch:
            raise ArtifactError(
                f"{root} was trained on feature spec {found[:16]}, but the caller builds features with spec "
                f"{feature_spec_fingerprint[:16]}: its inputs would mean something else. Use the feature spec "
                "stored with the model, re-train on yours, or pass allow_spec_mismatch=True to override."
            )
        warnings.append(
            f"SPEC-MISMATCH: trained on feature spec {found[:16]}, used with {feature_spec_fingerprint[:16]} "
            "(allow_spec_mismatch=True)"
        )
    return warnings


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); the file is damaged. "
            "Restore the artifact from a good copy or re-save it."
        ) from exc
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{path} is not UTF-8 text; the file is damaged.") from exc
