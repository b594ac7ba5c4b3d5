"""What every indicator, assembler and synergy parameter set shares: the strict parameter
base, the one int check, and the fingerprint of a model-input layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from algospace.errors import InputError
from algospace.features._params import StrictParams
from algospace.hashing import sha256_json


def check_int(value: Any, name: str, owner: str, minimum: int) -> int:
    """Parameter check with the one error shape used package-wide."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"The {name!r} parameter of {owner} must be an int >= {minimum}; received {value!r}.")
    return int(value)


class Params(StrictParams):
    """Base of indicator / assembler parameter sets: frozen, unknown keys rejected, and invalid
    values raised as InputError naming the field on every construction path."""


def layout_fingerprint(kind: str, version: int, names: Sequence[str], params: BaseModel) -> str:
    """sha256 of a model-input layout (kind, version, value names in order, every parameter).

    Model artifacts store it so an engine can refuse inputs built under another layout (the
    original's training and inference synergy vectors silently disagreed).
    """
    doc = {"kind": kind, "version": version, "names": list(names), "params": params.model_dump(mode="json")}
    return sha256_json(doc)
