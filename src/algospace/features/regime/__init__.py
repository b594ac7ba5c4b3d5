"""The 155 regime features (version 1: multi-scale MMD + 50 statistics; version 2 adds the
1-minute bars inside each bar) and the RDE's regime windows."""

from algospace.features.regime.references import REFERENCE_REGIMES
from algospace.features.regime.inputs import minute_bars_for, session_features
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
    "minute_bars_for",
    "regime_windows",
    "session_features",
]
