"""Field types shared by the event models: money as a decimal string, never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def _parse_money(value: Any) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError('money must be a decimal string such as "1234.50", not a float')
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal amount") from None
        if not parsed.is_finite():
            raise ValueError(f"{value!r} is not a finite amount")
        return parsed
    raise ValueError('money must be a decimal string such as "1234.50"')


Money = Annotated[
    Decimal,
    BeforeValidator(_parse_money),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1234.50"]}),
]
