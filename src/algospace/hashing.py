"""Fingerprints: the one canonical JSON and the sha256 helpers every part of the package uses.

A fingerprint must not depend on key order, whitespace or the platform, and must refuse
NaN (which JSON cannot carry and which is never equal to itself), so every sha256 of a
document goes through `canonical_json`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace, no NaN): the input of a fingerprint."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_text(text: str) -> str:
    """Hex sha256 of a string's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex sha256 of `obj`'s canonical JSON."""
    return sha256_text(canonical_json(obj))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


__all__ = ["canonical_json", "sha256_file", "sha256_json", "sha256_text"]
