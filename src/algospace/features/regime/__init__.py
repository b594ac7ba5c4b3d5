"""The 155 regime features (multi-scale MMD + 50 statistics) and the RDE's regime windows."""

from algospace.features.regime.references import REFERENCE_REGIMES
from algospace.features.regime.params import FeatureParams, FittedState
from algospace.features.regime.spec import FeatureSpec
from algospace.features.regime.stats import LOOKBACK, FeatureInfo
from algospace.features.regime.stream import FeatureStream
from algospace.features.regime.window import RegimeWindowStream, regime_windows

__all__ = [
    "LOOKBACK",
    "REFERENCE_REGIMES",
    "FeatureInfo",
    "FeatureParams",
    "FeatureSpec",
    "FeatureStream",
    "FittedState",
    "RegimeWindowStream",
    "regime_windows",
]
