"""`algospace features build/describe` through the real CLI app."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from algospace.cli import app
from algospace.config import AppConfig, set_config
from algospace.data import make_bars, sample
from algospace.errors import InputError
from algospace.features import FeatureSpec
from algospace.features.regime import LOOKBACK

runner = CliRunner()


@pytest.fixture(scope="module")
def minute_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pd.DataFrame]:
    """~700 30-minute bars of real SPY 1-minute data written as a CSV bar file."""
    minutes = sample("spy-1m").iloc[: 700 * 13 * 30 // 13]
    path = tmp_path_factory.mktemp("data") / "spy_1m.csv"
    minutes.reset_index().to_csv(path, index=False)
    return str(path), make_bars(minutes, 30, "SPY")


def test_build_fits_on_training_part_and_writes_features(tmp_path, minute_file) -> None:
    path, bars30 = minute_file
    out = tmp_path / "feats.parquet"
    res = runner.invoke(
        app, ["features", "build", "--data", path, "--out", str(out), "--fit-until", "2017-03-31", "--instrument", "SPY", "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert "from SPY 30-minute bars" in res.output
    feats = pd.read_parquet(out)
    assert feats.shape == (len(bars30) - LOOKBACK + 1, 155)
    spec = FeatureSpec.load(tmp_path / "feats.spec.json")
    assert pd.Timestamp(spec.state_.fit_end) <= pd.Timestamp("2017-04-01", tz="UTC")
    meta = pq.read_schema(out).metadata[b"algospace.feature_spec_fingerprint"].decode()
    assert meta == spec.fingerprint
    np.testing.assert_allclose(feats.to_numpy(), spec.transform(bars30).to_numpy(), rtol=0, atol=0)


def test_build_with_fitted_spec_reuses_it(tmp_path, minute_file) -> None:
    path, bars30 = minute_file
    spec = FeatureSpec.default().fit(bars30.iloc[:400])
    spec.save(tmp_path / "spec.json")
    out = tmp_path / "f.parquet"
    cfg = tmp_path / "config.yaml"
    cfg.write_text("data:\n  instrument: SPY\n")
    try:  # a file names no instrument: the config's data.instrument aligns the bars
        res = runner.invoke(app, ["--config", str(cfg), "features", "build", "--data", path, "--out", str(out), "--spec", str(tmp_path / "spec.json")])
    finally:
        set_config(AppConfig())  # the root callback set it for this process; leave the defaults for other tests
    assert res.exit_code == 0, res.output
    assert "from SPY 30-minute bars" in res.output
    assert spec.fingerprint in res.output
    np.testing.assert_array_equal(pd.read_parquet(out).to_numpy(), spec.transform(bars30).to_numpy())


def test_build_rejects_spec_with_fit_until(tmp_path, minute_file) -> None:
    res = runner.invoke(
        app, ["features", "build", "--data", minute_file[0], "--out", str(tmp_path / "x.parquet"), "--spec", "s.json", "--fit-until", "2017-02-01"]
    )
    assert res.exit_code != 0 and isinstance(res.exception, InputError)


def test_build_uses_the_samples_own_instrument_and_says_when_data_is_too_short(tmp_path) -> None:
    """es-ticks is two days of ES ticks: 77 Globex 30-minute bars, too few to fit (300 training bars)
    or even to build one row (105-bar lookback). The error says so, with the numbers and the way out."""
    res = runner.invoke(app, ["features", "build", "--data", "es-ticks", "--out", str(tmp_path / "es.parquet"), "--quiet"])
    assert isinstance(res.exception, InputError), res.output
    msg = str(res.exception)
    assert "es-ticks gives 77 30-minute bars (ES sessions" in msg and "at least 300 training bars" in msg and "--spec" in msg
    assert not (tmp_path / "es.parquet").exists()


def test_build_refuses_a_non_parquet_out(tmp_path, minute_file) -> None:
    res = runner.invoke(app, ["features", "build", "--data", minute_file[0], "--out", str(tmp_path / "x.csv")])
    assert isinstance(res.exception, InputError) and ".parquet" in str(res.exception)
    assert not (tmp_path / "x.csv").exists()


def test_describe_prints_all_155_features() -> None:
    res = runner.invoke(app, ["features", "describe", "--markdown"])
    assert res.exit_code == 0, res.output
    rows = [line for line in res.output.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 155
    assert "`mmd_calm_w26_bw1`" in res.output and "`vol_104`" in res.output
    res = runner.invoke(app, ["features", "--help"])
    assert res.exit_code == 0 and "build" in res.output and "describe" in res.output


def test_build_version_2_reads_the_minutes_and_refuses_30_minute_bars(tmp_path, minute_file) -> None:
    path, bars30 = minute_file
    out = tmp_path / "v2.parquet"
    args = ["features", "build", "--data", path, "--out", str(out), "--fit-until", "2017-03-31", "--instrument", "SPY", "--quiet", "--version", "2"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    spec = FeatureSpec.load(tmp_path / "v2.spec.json")
    assert spec.version == 2
    minutes = pd.read_csv(path, index_col=0, parse_dates=True).astype("float64")
    np.testing.assert_allclose(pd.read_parquet(out).to_numpy(), spec.transform(bars30, minute_bars=minutes).to_numpy(), rtol=0, atol=0)
    thirty = tmp_path / "bars30.csv"
    bars30.reset_index().to_csv(thirty, index=False)
    res = runner.invoke(app, [*args[:2], "--data", str(thirty), *args[4:]])
    assert isinstance(res.exception, InputError) and "1-minute bars" in str(res.exception)
    described = runner.invoke(app, ["features", "describe", "--version", "2", "--markdown"])
    assert described.exit_code == 0 and "FeatureSpec version 2: 155 features" in described.output and "`mac_13`" in described.output
