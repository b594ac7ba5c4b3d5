"""Features: indicators, the 155 regime features, matrix assemblers, synergy detection.

Public API of the regime features (see docs/features.md):

    from algospace.features import FeatureSpec, regime_windows
    spec = FeatureSpec.default().fit(bars_30m_train)
    feats = spec.transform(bars_30m)              # DataFrame (rows after warm-up) x 155
    windows, ends = regime_windows(feats, T=48)   # (N, 48, 155) float32
"""

from algospace.features.regime import (
    FeatureParams,
    FeatureSpec,
    FeatureStream,
    RegimeWindowStream,
    regime_windows,
)

# Indicators, matrix assemblers and the synergy detector add their exports below.

__all__ = [
    "FeatureParams",
    "FeatureSpec",
    "FeatureStream",
    "RegimeWindowStream",
    "regime_windows",
]
