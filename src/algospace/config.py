"""Configuration as strict pydantic models, loadable from YAML.

Every section is frozen and forbids unknown keys (a typo in a config file is an error, not a
silently ignored setting). Defaults work out of the box.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from algospace._pydantic import StrictModel

from algospace.errors import ConfigError

# The chronological split every model trains with: the first 70 % of bars train (and fit the
# feature spec), then validation, then test. Feature building defaults to the same share.
TRAIN_SHARE = 0.70


class InstrumentConfig(StrictModel):
    """A user-defined instrument (see `algospace.data.instruments`)."""

    name: str
    point_value: float = Field(gt=0, description="Currency per 1.0 price move per contract.")
    tick_size: float = Field(gt=0, description="Minimum price increment.")
    session: str = Field(
        "cme-globex",
        description="Trading calendar: cme-globex, nyse-rth, forex, 24h or any pandas_market_calendars name (XLON, CME_Equity, ...).",
    )
    currency: str = "USD"
    # Plausible magnitudes of the instrument's data (algospace.data.bounds); None keeps the default.
    min_price: float | None = Field(None, gt=0, description="Smallest plausible price (default 1e-6).")
    max_price: float | None = Field(None, gt=0, description="Largest plausible price (default 1e9).")
    max_volume: float | None = Field(None, gt=0, description="Largest plausible volume of one row (default 1e15).")

    @field_validator("session")
    @classmethod
    def _known_session(cls, v: str) -> str:
        from algospace.data.calendars import get_calendar
        from algospace.errors import InputError

        try:
            get_calendar(v)
        except InputError as exc:
            raise ValueError(f"unknown session {v!r}: {exc}") from exc
        return v




class DataConfig(StrictModel):
    """How market data files are read."""

    timestamp_column: str = "timestamp"
    timezone: str = Field("UTC", description="Timezone of naive timestamps in input files.")
    instrument: str = Field("ES", description="Default instrument when neither a command nor the data names one.")
    repair: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        from algospace.data.timezones import check_timezone

        return check_timezone(v)


class ThreadPolicy(StrictModel):
    """Intra-op CPU threads per engine call (`algospace.engines.threads` applies it; why there).

    Example (YAML): `engine: {threads: {single: 1, batch: 2}}`; in Python
    `RegimeDetectionEngine.load(path, threads=ThreadPolicy(single=1))`.
    """

    single: int = Field(1, ge=1, le=1024, description="Threads for one window (B = 1): 1 keeps p99 low on a busy machine.")
    batch: int | None = Field(None, ge=1, le=1024, description="Threads for a batch (B > 1); unset: every core this process may use.")


class EngineConfig(StrictModel):
    """How the inference engines run."""

    threads: ThreadPolicy = ThreadPolicy()


class AppConfig(StrictModel):
    """The whole configuration tree (`algospace --config FILE`)."""

    data: DataConfig = DataConfig()
    engine: EngineConfig = EngineConfig()
    instruments: list[InstrumentConfig] = []
    runs_dir: Path = Path("runs")
    seed: int = Field(0, description="Default seed of training commands (their --seed overrides it).")

    @model_validator(mode="after")
    def _instrument_known(self) -> "AppConfig":
        from algospace.data.instruments import BUILTIN_INSTRUMENTS  # the one list of built-in instruments

        known = set(BUILTIN_INSTRUMENTS) | {i.name.upper() for i in self.instruments}
        if self.data.instrument.upper() not in known:
            raise ValueError(
                f"data.instrument {self.data.instrument!r} is not {', '.join(BUILTIN_INSTRUMENTS)} or one defined "
                "under instruments"
            )
        return self


def load_config(path: str | Path | None = None) -> AppConfig:
    """Read an AppConfig from a YAML file; no path gives the defaults."""
    if path is None:
        return AppConfig()
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"Config file {p} is a directory; pass a YAML file to --config.")
    if not p.is_file():
        raise ConfigError(f"Config file {p} does not exist; pass an existing YAML file to --config.")
    try:
        raw: Any = yaml.safe_load(p.read_text()) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file {p} cannot be read as text ({exc}); pass a UTF-8 YAML file to --config.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {p} is not valid YAML{_yaml_where(exc)}; fix the file (see README, Configuration).") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"Config file {p} must hold a mapping at the top level; found {type(raw).__name__}.")
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or '(top level)'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise ConfigError(
            f"Config file {p} is invalid ({exc.error_count()} problem(s)): {problems}. Fix these keys (see README, Configuration)."
        ) from exc


def _yaml_where(exc: Exception) -> str:
    """' at line L, column C: problem' from a PyYAML error, on one line (its own text spans several)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{at}: {problem}"


_active: AppConfig | None = None


def get_config() -> AppConfig:
    """The configuration in force (set by the CLI's --config; defaults otherwise)."""
    return _active if _active is not None else AppConfig()


def set_config(cfg: AppConfig) -> None:
    """Make `cfg` the configuration in force for this process."""
    global _active
    _active = cfg
