"""One error hierarchy for the whole package.

Every message says what was expected, what was found, and what to do about it.
"""

from __future__ import annotations


class AlgoSpaceError(Exception):
    """Base of every error algospace raises on purpose."""


class DataError(AlgoSpaceError):
    """Market data breaks the bars/ticks contract (bad file, bad row, bad value)."""


class InputError(AlgoSpaceError):
    """A caller passed an argument of the wrong shape, type, range or value."""


class ArtifactError(AlgoSpaceError):
    """A model artifact is missing, corrupt, unsafe, untrained or incompatible."""


class ConfigError(AlgoSpaceError):
    """A configuration file or value is invalid."""


class NotFittedError(InputError):
    """A fitted-state method was called on an estimator that has not been fitted."""


__all__ = ["AlgoSpaceError", "DataError", "InputError", "ArtifactError", "ConfigError", "NotFittedError"]
