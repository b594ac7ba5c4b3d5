"""Technical indicators of the AlgoSpace pipeline, each as a batch function over a bars
DataFrame and an incremental class whose `update(bar)` returns the identical values.

ATR and RSI are Wilder's; MLMI, NW-RQK, FVG and LVN are the original system's own (see
docs/indicators.md for every formula and every choice made where the original contradicted
itself). MLMI and NW-RQK are meant for Heikin-Ashi 30-minute bars, FVG for plain 5-minute bars.
"""

from algospace.features.indicators.atr import ATR, atr, true_range
from algospace.features.indicators.fvg import FVG, FVG_COLUMNS, FVGParams, fvg
from algospace.features.indicators.lvn import LVN, LVN_COLUMNS, LVNParams, lvn
from algospace.features.indicators.mlmi import MLMI, MLMI_COLUMNS, MLMIParams, mlmi
from algospace.features.indicators.nwrqk import NWRQK, NWRQK_COLUMNS, NWRQKParams, nwrqk
from algospace.features.indicators.rsi import RSI, rsi

__all__ = [
    "ATR", "atr", "true_range",
    "RSI", "rsi",
    "MLMI", "MLMIParams", "MLMI_COLUMNS", "mlmi",
    "NWRQK", "NWRQKParams", "NWRQK_COLUMNS", "nwrqk",
    "FVG", "FVGParams", "FVG_COLUMNS", "fvg",
    "LVN", "LVNParams", "LVN_COLUMNS", "lvn",
]
