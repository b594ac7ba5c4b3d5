"""`save_artifact`: model -> artifact directory, written atomically."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import torch
import torch.nn as nn
from pydantic import ValidationError
from safetensors.torch import save_file

from algospace import __version__
from algospace.artifacts.format import (
    CONFIG_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    PROVENANCES,
    RESERVED_FILES,
    WEIGHTS_FILE,
    ArtifactMetadata,
    LegacySource,
    Manifest,
)
from algospace.artifacts.atomic_dir import write_dir_atomically
from algospace.artifacts.layout import tree_entries
from algospace.artifacts.safety import non_finite_keys, require_safe_torch
from algospace.errors import ArtifactError
from algospace.hashing import sha256_file
from algospace.models.registry import config_to_dict, get_model_spec

log = logging.getLogger(__name__)


def save_artifact(
    model: nn.Module,
    path: str | Path,
    *,
    kind: str,
    provenance: str,
    metadata: ArtifactMetadata | Mapping[str, Any] | None = None,
    extra_files: Mapping[str, str | Path] | None = None,
    write_extra: Callable[[Path], None] | None = None,
    legacy: LegacySource | None = None,
) -> Manifest:
    """Save `model` as an artifact directory at `path` (created or atomically replaced).

    kind: a registered model kind (`rde`, `mrms`); `model` must be that kind's class.
    provenance: `trained`, `legacy-import` or `untrained` (loaders refuse `untrained` by default).
    metadata: ArtifactMetadata or a dict of its fields (feature-spec fingerprint, training
        data, metrics, seed, notes); unknown keys are an error.
    extra_files: {name inside the artifact: source file or directory} copied in; and/or
    write_extra: a callback that writes extra files into the (temporary) artifact directory.
        Both run inside the atomic write; every extra file's sha256 goes in the manifest.

    Example:
        save_artifact(vae, "runs/rde-1", kind="rde", provenance="trained",
                      metadata={"feature_spec_fingerprint": spec.fingerprint, "seed": 0})
    """
    require_safe_torch()
    spec = get_model_spec(kind)
    if type(model) is not spec.model_cls:
        raise ArtifactError(
            f"kind {kind!r} saves a {spec.model_cls.__name__}; received a {type(model).__name__}. "
            "Pass the kind that matches the model."
        )
    if provenance not in PROVENANCES:
        raise ArtifactError(f"provenance must be one of {', '.join(PROVENANCES)}; received {provenance!r}.")
    if (provenance == "legacy-import") != (legacy is not None):
        raise ArtifactError("provenance 'legacy-import' goes with a `legacy` source record, and only with it.")
    meta = coerce_metadata(metadata)
    config = getattr(model, "config", None)
    if not isinstance(config, spec.config_cls):
        raise ArtifactError(
            f"A {kind!r} model must carry its {spec.config_cls.__name__} as `.config`; found {type(config).__name__}."
        )
    config_dict = config_to_dict(config)
    tensors = _weights_of(model)
    bad = non_finite_keys(tensors)
    if bad:
        raise ArtifactError(f"Refusing to save weights with NaN/inf values: {', '.join(bad)}. Fix the training run.")
    extras = _check_extra_names(extra_files or {})
    n_params = sum(p.numel() for p in model.parameters())

    def fill(tmp: Path) -> None:
        for name, src in extras.items():
            dst = tmp / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst)
            else:
                shutil.copyfile(src, dst)
        if write_extra is not None:
            write_extra(tmp)
        clash = sorted(n for n in RESERVED_FILES if (tmp / n).exists())
        if clash:
            raise ArtifactError(f"Extra files may not use the reserved names {clash}; rename them.")
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": "pt", "algospace_kind": kind})
        (tmp / CONFIG_FILE).write_text(json.dumps(config_dict, indent=2, sort_keys=True) + "\n")
        files = _checksum_tree(tmp)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            kind=kind,  # type: ignore[arg-type]
            algospace_version=__version__,
            created_at=datetime.now(UTC),
            torch_version=str(torch.__version__),
            provenance=provenance,  # type: ignore[arg-type]
            weights_sha256=files[WEIGHTS_FILE],
            files=files,
            parameter_count=n_params,
            weights_bytes=(tmp / WEIGHTS_FILE).stat().st_size,
            feature_spec_fingerprint=meta.feature_spec_fingerprint,
            training_data=meta.training_data,
            training_metrics=meta.training_metrics,
            seed=meta.seed,
            notes=meta.notes,
            legacy=legacy,
        )
        (tmp / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2) + "\n")
        saved.append(manifest)

    saved: list[Manifest] = []
    write_dir_atomically(Path(path), fill, marker=MANIFEST_FILE)
    log.info("saved %s artifact (%s, %d parameters) to %s", kind, provenance, n_params, path)
    return saved[0]


def coerce_metadata(metadata: ArtifactMetadata | Mapping[str, Any] | None) -> ArtifactMetadata:
    """ArtifactMetadata from a model or a dict; unknown keys and bad values are an ArtifactError."""
    if metadata is None:
        return ArtifactMetadata()
    if isinstance(metadata, ArtifactMetadata):
        return metadata
    try:
        return ArtifactMetadata.model_validate(dict(metadata))
    except ValidationError as exc:
        lines = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ArtifactError(
            f"Invalid artifact metadata: {lines}. Allowed keys: {', '.join(ArtifactMetadata.model_fields)}."
        ) from exc


def _weights_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """The persistent state (parameters and persistent buffers) as CPU tensors safetensors can write."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, t in model.state_dict().items():
        t = t.detach().to("cpu").contiguous()
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen and t.numel() > 0:
            t = t.clone()  # safetensors refuses tensors that share memory; store each one on its own
        seen.add(ptr)
        out[name] = t
    return out


def _check_extra_names(extra_files: Mapping[str, str | Path]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for name, src in extra_files.items():
        p = PurePosixPath(name)
        if p.is_absolute() or ".." in p.parts or not p.parts or str(p) in RESERVED_FILES:
            raise ArtifactError(
                f"Extra file name {name!r} must be a relative path inside the artifact, without '..', and not one "
                f"of {sorted(RESERVED_FILES)}."
            )
        source = Path(src)
        if not source.exists():
            raise ArtifactError(f"Extra file source {source} for {name!r} does not exist.")
        out[str(p)] = source
    return out


def _checksum_tree(root: Path) -> dict[str, str]:
    """sha256 of every file under root (POSIX relative paths), manifest excluded; links, FIFOs and devices refused."""
    entries = tree_entries(root)
    if entries.special:
        rel, what = next(iter(entries.special.items()))
        raise ArtifactError(f"Artifacts hold regular files only; {rel!r} is {what}.")
    return {rel: sha256_file(root / rel) for rel in entries.files if rel != MANIFEST_FILE}
