"""What every training configuration shares (RDE, M-RMS, decision core): a chronological
train/val/test split by fractions, and named presets that fail with a `ConfigError`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import ValidationError, model_validator

from algospace.config import StrictModel
from algospace.errors import ConfigError


class TrainConfig(StrictModel):
    """Base of the training configs: `preset("tiny")` trains in seconds (tests), `preset("default")`
    is the real run. A subclass names itself (`_what`) and gives its tiny values (`_tiny`)."""

    _what: ClassVar[str] = "model"

    if TYPE_CHECKING:  # fields of every subclass, declared there (their order is the config's)
        train_fraction: float
        val_fraction: float

    @model_validator(mode="after")
    def _fractions(self) -> Self:
        if self.train_fraction + self.val_fraction >= 1.0:
            raise ValueError("train_fraction + val_fraction must be < 1 (the rest is the test split)")
        return self

    @classmethod
    def _tiny(cls) -> dict[str, Any]:
        """The `tiny` preset's values (fresh objects on each call)."""
        return {}

    @classmethod
    def preset_values(cls, name: str) -> dict[str, Any]:
        """The values a named preset sets (the rest are the field defaults)."""
        if name == "default":
            return {}
        if name == "tiny":
            return cls._tiny()
        raise ConfigError(f"Unknown {cls._what} preset {name!r}; expected 'tiny' or 'default'.")

    @classmethod
    def preset(cls, name: str, **overrides: object) -> Self:
        """Named presets: `tiny` trains in seconds (tests), `default` is the real run."""
        return cls.validated({**cls.preset_values(name), **overrides})

    @classmethod
    def preset_with_options(cls, name: str, **options: object) -> Self:
        """`preset(name, ...)` for command-line options: an option left unset (None) keeps the preset's value."""
        return cls.preset(name, **{k: v for k, v in options.items() if v is not None})

    @classmethod
    def validated(cls, values: dict[str, Any]) -> Self:
        """`model_validate`, with pydantic's errors as one `ConfigError` line."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            lines = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"Invalid {cls._what} training settings: {lines}.") from exc


__all__ = ["TrainConfig"]
