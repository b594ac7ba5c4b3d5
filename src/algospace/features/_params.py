"""Base of every feature-side parameter set: frozen, unknown keys rejected, and invalid values
raised as one of our errors on every construction path (keyword construction, `model_validate`,
`model_validate_json`, `model_validate_strings`, nested dicts), never as a bare pydantic
ValidationError."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from algospace.errors import AlgoSpaceError, InputError


def describe_validation_error(owner: str, exc: ValidationError) -> str:
    """One line naming every bad field, its problem and the value received."""
    parts = [
        f"{'.'.join(str(x) for x in e['loc']) or 'value'}: {e['msg']} (received {e.get('input')!r})" for e in exc.errors()
    ]
    return f"Invalid {owner}: " + "; ".join(parts)


class StrictParams(BaseModel):
    """Frozen, strict parameters; a bad value raises `error_type` (InputError unless overridden).

    Each public entry point translates pydantic's ValidationError. (A wrap model-validator on
    this base would not see the `mode="after"` validators of subclasses, which pydantic runs
    outside it.)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    error_type: ClassVar[type[AlgoSpaceError]] = InputError

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise self.error_type(describe_validation_error(type(self).__name__, exc)) from exc

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise cls.error_type(describe_validation_error(cls.__name__, exc)) from exc

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Any:
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            raise cls.error_type(describe_validation_error(cls.__name__, exc)) from exc

    @classmethod
    def model_validate_strings(cls, obj: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate_strings(obj, **kwargs)
        except ValidationError as exc:
            raise cls.error_type(describe_validation_error(cls.__name__, exc)) from exc


__all__ = ["StrictParams", "describe_validation_error"]
