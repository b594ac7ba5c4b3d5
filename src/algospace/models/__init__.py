"""Models: pure nn.Modules with config dataclasses, and the kind registry the artifact layer uses."""

from algospace.models.core import CoreConfig, CoreInputs, CoreOutput, DecisionCoreModel
from algospace.models.mrms import MRMSConfig, MRMSModel, MRMSOutput
from algospace.models.rde import RDEConfig, RegimeVAE
from algospace.models.registry import ModelSpec, build_model, get_model_spec, register_model, registered_kinds

__all__ = [
    "CoreConfig",
    "CoreInputs",
    "CoreOutput",
    "DecisionCoreModel",
    "MRMSConfig",
    "MRMSModel",
    "MRMSOutput",
    "ModelSpec",
    "RDEConfig",
    "RegimeVAE",
    "build_model",
    "get_model_spec",
    "register_model",
    "registered_kinds",
]
