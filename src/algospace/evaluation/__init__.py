"""Honest evaluation: synthetic data with known regimes, baselines, out-of-sample tests."""
