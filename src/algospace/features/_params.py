"""Base of every feature-side parameter set: the package's strict pydantic base
(`algospace._pydantic`), whose invalid values raise InputError naming the field."""

from algospace._pydantic import StrictParams, describe_validation_error

__all__ = ["StrictParams", "describe_validation_error"]
