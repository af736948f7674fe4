"""Numbers in request bodies as JSON Schema reads them: an integer is a number without a
fraction (``3`` or ``3.0``), never a string or a boolean; a number is never a string or a
boolean. (pydantic's lax mode would take ``"3"`` and ``true``; its strict mode refuses
``3.0``.) The bounds come first, so that the JSON Schema states them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _integer(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("Input should be a valid integer, got a number with a fraction")
        return int(value)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid number")
    return value


#: A ticket's version.
VersionNumber = Annotated[int, Field(ge=0, le=2**31 - 1), BeforeValidator(_integer)]
#: Messages a second.
Rate = Annotated[float, Field(gt=0, le=10_000), BeforeValidator(_number)]
