"""Atomic file writes and canonical JSON for fitted feature specs (no pickle anywhere)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from algospace.io import atomic_write_text  # noqa: F401  (re-exported: spec.py imports it from here)


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace, no NaN): the input of a fingerprint."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
