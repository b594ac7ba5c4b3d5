"""Metrics against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from algospace.sim.metrics import calmar, max_drawdown, profit_factor, sharpe, sortino


def test_sharpe_and_sortino_by_hand():
    x = np.array([100.0, -50.0, 200.0, -100.0])
    mean = 37.5
    std = math.sqrt(((62.5**2) + (87.5**2) + (162.5**2) + (137.5**2)) / 3)
    assert sharpe(x) == pytest.approx(mean / std)
    assert sharpe(x, 252) == pytest.approx(mean / std * math.sqrt(252))
    down = math.sqrt((50.0**2 + 100.0**2) / 4)
    assert sortino(x) == pytest.approx(mean / down)
    assert sortino(np.array([1.0, 2.0])) == math.inf and math.isnan(sortino(np.array([1.0])))
    assert math.isnan(sharpe(np.array([0.0, 0.0])))


def test_drawdown_calmar_profit_factor_by_hand():
    pnl = np.array([100.0, -300.0, 50.0, -100.0, 400.0])  # equity 0,100,-200,-150,-250,150: peak 100 -> trough -250
    assert max_drawdown(pnl) == 350.0
    assert max_drawdown(np.array([-10.0])) == 10.0 and max_drawdown(np.array([])) == 0.0
    assert calmar(pnl, periods=252) == pytest.approx(30.0 * 252 / 350.0)
    assert calmar(np.array([1.0, 1.0])) == math.inf
    assert profit_factor(pnl) == pytest.approx(550.0 / 400.0)
    assert profit_factor(np.array([5.0])) == math.inf and math.isnan(profit_factor(np.array([])))
