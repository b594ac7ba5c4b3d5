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

from algospace.features.indicators import (
    ATR,
    FVG,
    LVN,
    MLMI,
    NWRQK,
    RSI,
    FVGParams,
    LVNParams,
    MLMIParams,
    NWRQKParams,
    atr,
    fvg,
    lvn,
    mlmi,
    nwrqk,
    rsi,
)
from algospace.features.matrices import (
    MATRIX_5M_COLUMNS,
    MATRIX_30M_COLUMNS,
    Matrix5mAssembler,
    Matrix5mParams,
    Matrix30mAssembler,
    Matrix30mParams,
    all_windows,
    features_5m,
    features_30m,
    window_5m,
    window_30m,
)
from algospace.features.synergy import (
    SYNERGY_VECTOR_NAMES,
    Signal,
    SynergyContext,
    SynergyDetector,
    SynergyEvent,
    SynergyParams,
    SynergyType,
    detect_signals,
    detect_synergies,
    synergy_vector,
    synergy_vector_fingerprint,
)

__all__ = [
    "ATR", "FVG", "LVN", "MLMI", "NWRQK", "RSI", "FVGParams", "LVNParams", "MLMIParams", "NWRQKParams",
    "atr", "fvg", "lvn", "mlmi", "nwrqk", "rsi",
    "MATRIX_5M_COLUMNS", "MATRIX_30M_COLUMNS", "Matrix5mAssembler", "Matrix5mParams", "Matrix30mAssembler",
    "Matrix30mParams", "all_windows", "features_5m", "features_30m", "window_5m", "window_30m",
    "SYNERGY_VECTOR_NAMES", "Signal", "SynergyContext", "SynergyDetector", "SynergyEvent", "SynergyParams",
    "SynergyType", "detect_signals", "detect_synergies", "synergy_vector", "synergy_vector_fingerprint",
    "FeatureParams",
    "FeatureSpec",
    "FeatureStream",
    "RegimeWindowStream",
    "regime_windows",
]
