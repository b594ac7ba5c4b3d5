"""Edits an adversary (or a buggy tool) makes to a saved artifact, shared by the artifact tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from algospace.hashing import sha256_file


def resign(path: Path) -> None:
    """Recompute every checksum of a tampered artifact, so the check under test (not the checksums) must catch it."""
    m = json.loads((path / "manifest.json").read_text())
    m["files"] = {rel: sha256_file(path / rel) for rel in m["files"]}
    m["weights_sha256"] = m["files"]["model.safetensors"]
    (path / "manifest.json").write_text(json.dumps(m))


def edit_weights(path: Path, edit: Callable[[dict[str, torch.Tensor]], None]) -> None:
    """Change the weights in place with `edit(tensors)`, then re-sign the artifact."""
    tensors = load_file(str(path / "model.safetensors"))
    edit(tensors)
    save_file(tensors, str(path / "model.safetensors"))
    resign(path)
