"""The artifact format: file names, format version and the manifest schema.

An artifact is a directory holding `model.safetensors` (weights only), `config.json` (the
architecture hyper-parameters that rebuild the model) and `manifest.json` (this schema), plus
any extra plain files the model needs (e.g. a fitted feature spec), each checksummed here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import Field

from algospace._pydantic import StrictModel
from algospace.models.registry import KNOWN_KINDS

# Bump when a reader of the previous version could misread a new artifact; a reader refuses
# any version above the one it knows.
FORMAT_VERSION = 1

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
MANIFEST_FILE = "manifest.json"
RESERVED_FILES = frozenset({WEIGHTS_FILE, CONFIG_FILE, MANIFEST_FILE})

Kind = Literal[tuple(KNOWN_KINDS)]  # type: ignore[valid-type]  # the kinds are listed once, in the model registry
Provenance = Literal["trained", "legacy-import", "untrained"]
PROVENANCES: tuple[str, ...] = get_args(Provenance)

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class TrainingData(StrictModel):
    """What the model was trained on: enough to tell two training sets apart."""

    fingerprint: str | None = Field(None, description="sha256 of the training data (bars and features).")
    start: datetime | None = Field(None, description="First bar of the training data (UTC).")
    end: datetime | None = Field(None, description="Last bar of the training data (UTC).")
    description: str | None = Field(None, description="Free text, e.g. 'bundled SPY 1m sample 2017-2019'.")


class ArtifactMetadata(StrictModel):
    """What a caller of `save_artifact` states about the model beyond its weights and config."""

    feature_spec_fingerprint: str | None = None
    training_data: TrainingData = TrainingData()
    training_metrics: dict[str, FiniteFloat] = {}
    seed: int | None = None
    notes: list[str] = []


class LegacySource(StrictModel):
    """Where a legacy-imported artifact came from and what the import could not carry over."""

    file_name: str
    sha256: Sha256
    layout: Literal["model_state_dict", "state_dict", "raw"]
    extras: dict[str, int | float | str | None] = {}
    dropped_keys: list[str] = Field([], description="Keys of the legacy file that were not imported, with why.")
    not_imported: list[str] = Field([], description="Our keys with no source in the legacy file (fresh init).")
    inference_only: bool = Field(False, description="True when training-only weights were not imported.")
    notes: list[str] = []


class Manifest(StrictModel):
    """`manifest.json`: identity, integrity and provenance of one artifact."""

    format_version: int
    kind: Kind
    algospace_version: str
    created_at: datetime
    torch_version: str
    provenance: Provenance
    weights_sha256: Sha256
    files: dict[str, Sha256] = Field(description="sha256 of every file but manifest.json, by relative path.")
    parameter_count: int = Field(ge=0)
    weights_bytes: int = Field(ge=0)
    feature_spec_fingerprint: str | None = None
    training_data: TrainingData = TrainingData()
    training_metrics: dict[str, FiniteFloat] = {}
    seed: int | None = None
    notes: list[str] = []
    legacy: LegacySource | None = None
    # Set by the loader, never stored: why this artifact is not fit for unattended use
    # (loaded with an explicit opt-in). Every report that shows the model must show these.
    warnings: tuple[str, ...] = Field((), exclude=True)

    @property
    def flagged(self) -> bool:
        """True when the artifact was loaded under an opt-in and must be reported as such."""
        return bool(self.warnings)
