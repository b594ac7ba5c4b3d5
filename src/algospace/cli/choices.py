"""The fixed choices of command-line options, as Literal types so that typer checks them.

Why: a value outside a fixed list is a usage error (exit 2, caught before any work, listed in
--help), not an error found halfway through a command. The library keeps the lists of truth
(`RDETrainConfig`, `engines.rde.BACKENDS`); they are repeated here
because importing them would load torch for every `--help`. A test keeps the two in step.
Model kinds stay free text: importers can be registered at run time, so the artifact layer
checks them (an ArtifactError, exit 1).
"""

from __future__ import annotations

from typing import Literal, get_args

Preset = Literal["tiny", "default"]
Target = Literal["window", "next"]
Pooling = Literal["mean", "last", "ewm", "attention"]  # algospace.models.rde.POOLINGS
Features = Literal["v1", "v2"]  # RDETrainConfig.features: the feature spec version
Backend = Literal["torch", "torch-eager", "torch-aoti", "torch-bf16", "onnxruntime", "onnxruntime-int8"]
Signals = Literal["components", "synergy"]  # algospace.runtime.detect.SOURCES
Instrument = Literal["ES", "MES"]  # what the runtime trades (sim.market.FUTURES)
# `--rde-backend` of train core / eval core / backtest / run: "auto" = the recorded backend (engines.rde_backend)
RdeBackend = Literal[("auto", *get_args(Backend))]  # type: ignore[valid-type]
