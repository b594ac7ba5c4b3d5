"""algospace: regime detection, risk management and a decision core for ES/MES futures.

Real data, real training, safe artifacts, honest readiness checks.
"""

from algospace.errors import AlgoSpaceError, ArtifactError, ConfigError, DataError, InputError, NotFittedError

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "AlgoSpaceError",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "InputError",
    "NotFittedError",
]
