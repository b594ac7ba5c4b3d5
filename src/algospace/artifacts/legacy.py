"""Import of the original system's .pth checkpoints, without ever running code from them.

The file is read by `pickle_scan.probe_file` (a static opcode scan, then
`torch.load(weights_only=True)` only). Its state dict, in one of the original's layouts, goes
to the key mapping registered for the model kind (`legacy_rde.py`, `legacy_mrms.py`), which
maps the original's key names onto ours and infers the architecture from the tensor shapes.
The model is loaded strictly and saved as an artifact with provenance `legacy-import` (never
`trained`), recording what was dropped and what has no source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from algospace.artifacts.format import ArtifactMetadata, LegacySource, Manifest
from algospace.artifacts.load import state_dict_problems
from algospace.artifacts.pickle_scan import Probe, probe_file
from algospace.artifacts.safety import non_finite_keys
from algospace.artifacts.save import coerce_metadata, save_artifact
from algospace.errors import ArtifactError
from algospace.models.registry import get_model_spec

log = logging.getLogger(__name__)

IMPORT_SEED = 0  # seeds the fresh weights of tensors a legacy file has no source for


@dataclass
class LegacyCheckpoint:
    """A legacy checkpoint read safely: its state dict, layout and scalar extras."""

    probe: Probe
    state_dict: dict[str, torch.Tensor]
    layout: str  # model_state_dict | state_dict | raw
    extras: dict[str, int | float | str | None]
    ignored: list[str]  # top-level entries not imported (e.g. optimizer state)


def read_legacy_checkpoint(path: str | Path) -> LegacyCheckpoint:
    """Read a .pth in one of the original's layouts; ArtifactError for anything else."""
    return checkpoint_from_probe(probe_file(path))


def checkpoint_from_probe(probe: Probe) -> LegacyCheckpoint:
    """The checkpoint a probe found, in one of the original's layouts; ArtifactError otherwise."""
    if probe.status != "checkpoint":
        raise ArtifactError(probe.detail)
    obj = probe.obj
    if not isinstance(obj, Mapping):
        raise ArtifactError(f"{probe.path.name} holds a {type(obj).__name__}; expected a dict (a state dict or a "
                            "checkpoint dict with model_state_dict).")
    extras: dict[str, int | float | str | None] = {}
    ignored: list[str] = []
    if "model_state_dict" in obj or "state_dict" in obj:
        layout = "model_state_dict" if "model_state_dict" in obj else "state_dict"
        sd = obj[layout]
        for k, v in obj.items():
            if k == layout:
                continue
            if v is None or isinstance(v, (int, float, str)) and not isinstance(v, bool):
                extras[str(k)] = v
            elif isinstance(v, torch.Tensor) and v.numel() == 1:
                extras[str(k)] = v.item()
            else:
                ignored.append(f"{k} ({type(v).__name__}): not part of the model, not imported")
    elif all(isinstance(v, torch.Tensor) for v in obj.values()):
        layout, sd = "raw", obj
    else:
        raise ArtifactError(
            f"{probe.path.name} is a dict with keys {sorted(map(str, obj))[:8]} but no model_state_dict / state_dict "
            "and not all values are tensors: not a layout the original system used."
        )
    if not isinstance(sd, Mapping) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ArtifactError(f"{probe.path.name}: the '{layout}' entry is not a dict of tensors.")
    return LegacyCheckpoint(probe, {str(k): v for k, v in sd.items()}, layout, extras, ignored)


@dataclass
class Imported:
    model: nn.Module
    dropped: list[str]
    not_imported: list[str]
    notes: list[str]


Importer = Callable[[dict[str, torch.Tensor]], Imported]
_IMPORTERS: dict[str, Importer] = {}
_KEY_PREFIXES: dict[str, tuple[str, ...]] = {}


def register_legacy_importer(kind: str, importer: Importer, key_prefixes: tuple[str, ...] = ()) -> None:
    """Let a model kind (e.g. the decision core) add its legacy key mapping; `key_prefixes` are
    state-dict key prefixes that only this kind's legacy checkpoints use (for `guess_kind`)."""
    _IMPORTERS[kind] = importer
    _KEY_PREFIXES[kind] = tuple(key_prefixes)


def import_legacy(
    file: str | Path,
    kind: str,
    out: str | Path,
    *,
    metadata: ArtifactMetadata | Mapping[str, Any] | None = None,
) -> Manifest:
    """Convert a legacy .pth of `kind` into an artifact directory at `out` (provenance legacy-import).

    Example:
        import_legacy("rde_model.pth", "rde", "runs/rde-legacy")
    """
    ckpt = read_legacy_checkpoint(file)
    get_model_spec(kind)  # a kind with no model yet (core) fails here with the reason
    importer = _IMPORTERS.get(kind)
    if importer is None:
        raise ArtifactError(f"There is no legacy key mapping for model kind {kind!r}; it cannot be imported.")
    guessed = guess_kind(ckpt.state_dict)
    if guessed is not None and guessed != kind:
        raise ArtifactError(
            f"{ckpt.probe.path.name} looks like a {guessed!r} checkpoint (by its key names), not {kind!r}; "
            f"pass --kind {guessed}."
        )
    imported = importer(ckpt.state_dict)
    imported.model.eval()
    legacy = LegacySource(
        file_name=ckpt.probe.path.name,
        sha256=ckpt.probe.sha256,
        layout=ckpt.layout,  # type: ignore[arg-type]
        extras=ckpt.extras,
        dropped_keys=imported.dropped + ckpt.ignored,
        not_imported=imported.not_imported,
        inference_only=bool(imported.not_imported),
        notes=imported.notes,
    )
    meta = coerce_metadata(metadata)
    meta = meta.model_copy(update={"notes": [*meta.notes, *imported.notes]})
    manifest = save_artifact(imported.model, out, kind=kind, provenance="legacy-import", metadata=meta, legacy=legacy)
    log.info("imported %s (%s layout) as %s artifact at %s", ckpt.probe.path.name, ckpt.layout, kind, out)
    return manifest


def guess_kind(state_dict: Mapping[str, Any]) -> str | None:
    """The model kind a legacy state dict's key names point to, if clear."""
    for kind, prefixes in _KEY_PREFIXES.items():
        if prefixes and any(str(k).startswith(prefixes) for k in state_dict):
            return kind
    return None


def fresh_model(build: Callable[[], nn.Module]) -> nn.Module:
    """Build a model with a fixed seed (for weights without a source) without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(IMPORT_SEED)
        return build()


def load_mapped(model: nn.Module, mapped: dict[str, torch.Tensor], *, allow_missing: set[str], what: str) -> None:
    """Strictly load mapped legacy tensors; only `allow_missing` keys may keep their fresh values."""
    own = model.state_dict()
    converted: list[str] = []
    for k, t in list(mapped.items()):
        if k in own and t.dtype != own[k].dtype and t.is_floating_point() and own[k].is_floating_point():
            mapped[k] = t.to(own[k].dtype)
            converted.append(k)
    full = {k: v for k, v in own.items() if k in allow_missing and k not in mapped}
    full.update(mapped)
    problems = state_dict_problems(model, full)
    if problems:
        raise ArtifactError(
            f"The legacy {what} weights do not fit the model inferred from their shapes:\n  " + "\n  ".join(problems)
        )
    bad = non_finite_keys(mapped)
    if bad:
        raise ArtifactError(f"The legacy {what} checkpoint holds NaN/inf weights: {', '.join(bad)}. Not imported.")
    model.load_state_dict(full, strict=True)
    if converted:
        log.info("converted %d legacy tensors to the model's dtype", len(converted))


# The key mappings register themselves (imported last: they use the helpers above).
from algospace.artifacts import legacy_mrms, legacy_rde  # noqa: E402, F401
