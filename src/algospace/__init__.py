"""algospace: regime detection, risk management and a decision core for ES/MES futures.

Real data, real training, safe artifacts, honest readiness checks. The public API is
re-exported here and imported lazily, so `import algospace` stays fast (torch loads only
when a model-side name is first used).

    import algospace
    bars = algospace.sample("spy-1m")
    spec = algospace.FeatureSpec.default().fit(algospace.make_bars(bars, 30, "SPY"))
    engine = algospace.RegimeDetectionEngine.load("runs/demo/models/rde")
"""

from __future__ import annotations

from algospace._lazy import lazy_exports
from algospace.errors import AlgoSpaceError, ArtifactError, ConfigError, DataError, InputError, NotFittedError

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "load_bars": "algospace.data",
    "load_ticks": "algospace.data",
    "load_data": "algospace.data",
    "make_bars": "algospace.data",
    "session_bars": "algospace.data",
    "BarBuilder": "algospace.data",
    "heikin_ashi": "algospace.data",
    "get_instrument": "algospace.data",
    "Instrument": "algospace.data",
    "sample": "algospace.data",
    "samples": "algospace.data",
    "validate_bars": "algospace.data",
    "FeatureSpec": "algospace.features",
    "regime_windows": "algospace.features",
    "detect_synergies": "algospace.features",
    "SynergyDetector": "algospace.features",
    "SynergyEvent": "algospace.features",
    "synergy_vector": "algospace.features",
    "detect_signals": "algospace.features",
    "build_signals": "algospace.signals",
    "SignalSet": "algospace.signals",
    "Market": "algospace.sim",
    "SimConfig": "algospace.sim",
    "AccountConfig": "algospace.sim",
    "PropFirmAccount": "algospace.sim",
    "account_vector": "algospace.sim",
    "build_paths": "algospace.sim",
    "simulate": "algospace.sim",
    "backtest": "algospace.sim",
    "TradingEnv": "algospace.sim",
    "save_artifact": "algospace.artifacts",
    "load_artifact": "algospace.artifacts",
    "inspect_artifact": "algospace.artifacts",
    "verify_artifact": "algospace.artifacts",
    "import_legacy": "algospace.artifacts",
    "RegimeDetectionEngine": "algospace.engines.rde",
    "RDEConfig": "algospace.models.rde",
    "RegimeVAE": "algospace.models.rde",
    "MRMSConfig": "algospace.models.mrms",
    "CoreConfig": "algospace.models.core",
    "DecisionCoreModel": "algospace.models.core",
    "MRMSModel": "algospace.models.mrms",
    "RiskManager": "algospace.engines.mrms",
    "RiskProposal": "algospace.engines.mrms",
    "TradeQualification": "algospace.engines.mrms",
    "RDETrainConfig": "algospace.training.rde_config",
    "train_rde": "algospace.training.rde",
    "AppConfig": "algospace.config",
    "run_check": "algospace.check",
    "CheckReport": "algospace.check",
    "build_report": "algospace.report",
    "run_baselines": "algospace.report",
    "load_config": "algospace.config",
    "ThreadPolicy": "algospace.config",
}


__getattr__, __dir__ = lazy_exports("algospace", _LAZY, globals())


__all__ = [
    "__version__",
    "AlgoSpaceError",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "InputError",
    "NotFittedError",
    *_LAZY,
]
