"""Money is integer fen (分) everywhere; this module only formats and parses it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from yutang.kit.errors import InvalidInput


class InvalidAmount(InvalidInput):
    code = "invalid_amount"


def format_yuan(amount_fen: int, with_symbol: bool = True) -> str:
    """``123456`` → ``¥1,234.56``."""
    sign = "-" if amount_fen < 0 else ""
    whole, fen = divmod(abs(amount_fen), 100)
    text = f"{sign}{whole:,}.{fen:02d}"
    return f"¥{text}" if with_symbol else text


def parse_yuan(text: str) -> int:
    """``"12.5"`` → ``1250``; half-up rounding to the fen."""
    cleaned = text.strip().replace(",", "").replace("¥", "").replace("￥", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as error:
        raise InvalidAmount(f"not an amount: {text!r}") from error
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
