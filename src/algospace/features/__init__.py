"""Features: indicators, the 155 regime features, matrix assemblers, synergy detection.

Public API of the regime features (see docs/features.md):

    from algospace.features import FeatureSpec, regime_windows
    spec = FeatureSpec.default().fit(bars_30m_train)
    feats = spec.transform(bars_30m)              # DataFrame (rows after warm-up) x 155
    spec2 = FeatureSpec.default(2).fit(bars_1m_train)          # version 2 reads the 1-minute bars
    feats2 = session_features(spec2, bars_1m)     # ticks/bars -> 30-minute rows, either version
    windows, ends = regime_windows(feats, T=48)   # (N, 48, 155) float32

Every name is imported on first use: the RDE needs only `regime/`, not the ~1,900 lines of
indicators, matrices and synergy (the signal side) that sit beside it.
"""

from __future__ import annotations

from algospace._lazy import lazy_exports

_REGIME = ("FeatureParams", "FeatureSpec", "FeatureStream", "RegimeWindowStream", "regime_windows", "session_features")
_INDICATORS = ("ATR", "FVG", "LVN", "MLMI", "NWRQK", "RSI", "FVGParams", "LVNParams", "MLMIParams", "NWRQKParams",
               "atr", "fvg", "lvn", "mlmi", "nwrqk", "rsi")
_MATRICES = ("MATRIX_5M_COLUMNS", "MATRIX_30M_COLUMNS", "Matrix5mAssembler", "Matrix5mParams", "Matrix30mAssembler",
             "Matrix30mParams", "all_windows", "features_5m", "features_30m", "window_5m", "window_30m")
_SYNERGY = ("SYNERGY_VECTOR_NAMES", "Signal", "SynergyContext", "SynergyDetector", "SynergyEvent", "SynergyParams",
            "SynergyType", "detect_signals", "detect_synergies", "synergy_vector", "synergy_vector_fingerprint")
_LAZY = {
    **dict.fromkeys(_REGIME, "algospace.features.regime"),
    **dict.fromkeys(_INDICATORS, "algospace.features.indicators"),
    **dict.fromkeys(_MATRICES, "algospace.features.matrices"),
    **dict.fromkeys(_SYNERGY, "algospace.features.synergy"),
}


__getattr__, __dir__ = lazy_exports("algospace.features", _LAZY, globals())


__all__ = [*_INDICATORS, *_MATRICES, *_SYNERGY, *_REGIME]
