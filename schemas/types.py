"""Field types shared by the event models: money as a decimal string, never a float."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
#: Digits of an amount, integer and fraction together (far beyond any real amount).
MONEY_MAX_DIGITS = 30
_MONEY = re.compile(MONEY_PATTERN)


def _parse_money(value: Any) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError('money must be a decimal string such as "1234.50", not a float')
    if isinstance(value, Decimal):
        if not value.is_finite() or len(value.as_tuple().digits) > MONEY_MAX_DIGITS:
            raise ValueError(f"{value} is not a finite amount of at most {MONEY_MAX_DIGITS} digits")
        return value
    if isinstance(value, int):
        if len(str(abs(value))) > MONEY_MAX_DIGITS:
            raise ValueError(f"an amount of more than {MONEY_MAX_DIGITS} digits")
        return Decimal(value)
    if isinstance(value, str):
        too_long = len(value) > MONEY_MAX_DIGITS + 2 or (
            len(value) - value.count("-") - value.count(".") > MONEY_MAX_DIGITS
        )
        if too_long or not _MONEY.match(value):
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise ValueError(
                f'{shown!r} is not a decimal amount such as "1234.50" '
                f"(at most {MONEY_MAX_DIGITS} digits)"
            )
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal amount") from None
        return parsed
    raise ValueError('money must be a decimal string such as "1234.50"')


Money = Annotated[
    Decimal,
    BeforeValidator(_parse_money),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1234.50"]}),
]
