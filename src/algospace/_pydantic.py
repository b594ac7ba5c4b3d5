"""The one strict pydantic base of the package, and its error-translating variant.

Every configuration, parameter set and manifest schema is frozen and rejects unknown keys: a
typo in a config file or a manifest is an error, never a silently ignored setting.
`StrictModel` is that base. `StrictParams` adds what user-facing parameter sets need: an
invalid value raises one of our errors, on every construction path (keyword construction,
`model_validate`, `model_validate_json`, `model_validate_strings`, nested dicts), never a
bare pydantic ValidationError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from algospace.errors import AlgoSpaceError, InputError


class StrictModel(BaseModel):
    """Frozen, unknown keys rejected: the base of every config section, parameter set and manifest."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def describe_validation_error(owner: str, exc: ValidationError) -> str:
    """One line naming every bad field, its problem and the value received."""
    parts = [
        f"{'.'.join(str(x) for x in e['loc']) or 'value'}: {e['msg']} (received {e.get('input')!r})" for e in exc.errors()
    ]
    return f"Invalid {owner}: " + "; ".join(parts)


class StrictParams(StrictModel):
    """Strict parameters; a bad value raises `error_type` (InputError unless overridden).

    Each public entry point translates pydantic's ValidationError. (A wrap model-validator on
    this base would not see the `mode="after"` validators of subclasses, which pydantic runs
    outside it.)
    """

    error_type: ClassVar[type[AlgoSpaceError]] = InputError

    def __init__(self, **data: Any) -> None:
        type(self)._translated(super().__init__, **data)

    @classmethod
    def _translated(cls, build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return build(*args, **kwargs)
        except ValidationError as exc:
            raise cls.error_type(describe_validation_error(cls.__name__, exc)) from exc

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:
        return cls._translated(super().model_validate, obj, **kwargs)

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Any:
        return cls._translated(super().model_validate_json, json_data, **kwargs)

    @classmethod
    def model_validate_strings(cls, obj: Any, **kwargs: Any) -> Any:
        return cls._translated(super().model_validate_strings, obj, **kwargs)


__all__ = ["StrictModel", "StrictParams", "describe_validation_error"]
