"""How numbers and dates read in the report (exact: Decimal formatting, no float for money)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal


def eur(value: Decimal | int | None, cents: bool = True) -> str:
    """``EUR 1,234,567.89`` (``cents=False``: ``EUR 1,234,568``, half to even); ``n/a`` for None."""
    if value is None:
        return "n/a"
    value = Decimal(value)
    text = f"{value:,.2f}" if cents else f"{value.quantize(Decimal(1)):,.0f}"
    return f"EUR {text}" if not text.startswith("-") else f"-EUR {text[1:]}"


def eur_compact(value: Decimal | int | None) -> str:
    """Headline amounts: ``EUR 2.20 bn``, ``EUR 123.5 m`` (half to even); below a million exact, as
    :func:`eur`. The exact figure goes beside it (a ``title`` or a table)."""
    if value is None:
        return "n/a"
    value = Decimal(value)
    sign, size = ("-" if value < 0 else ""), abs(value)
    for unit, scale, places in (("bn", Decimal(10) ** 9, "0.01"), ("m", Decimal(10) ** 6, "0.1")):
        if size >= scale:
            return f"{sign}EUR {(size / scale).quantize(Decimal(places)):,} {unit}"
    return eur(value)


def eur_short(value: float) -> str:
    """Axis labels and captions: ``€1.5bn``, ``€250m``, ``€12k``, ``€0``."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for size, unit in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if value >= size:
            number = value / size
            digits = 0 if number >= 100 or number == int(number) else 1
            return f"{sign}€{number:,.{digits}f}{unit}"
    return f"{sign}€{value:,.0f}"


def pct(value: Decimal | None, places: int = 2) -> str:
    """``103.09 %``; ``n/a`` for None."""
    return "n/a" if value is None else f"{Decimal(value):,.{places}f} %"


def prob(value: Decimal | float | None) -> str:
    """A probability as ``73 %``; ``< 1 %`` and ``> 99 %`` short of certainty; ``n/a`` for None."""
    if value is None:
        return "n/a"
    share = Decimal(value) * 100
    if 0 < share < 1:
        return "< 1 %"
    if 99 < share < 100:
        return "> 99 %"
    return f"{share.quantize(Decimal(1)):.0f} %"


def number(value: Decimal | int | None, places: int = 0) -> str:
    """``1,234,567`` (``places`` decimals)."""
    return "n/a" if value is None else f"{Decimal(value):,.{places}f}"


def day(value: date | datetime | None) -> str:
    """``14 Jun 2021``; ``n/a`` for None."""
    if value is None:
        return "n/a"
    if isinstance(value, datetime):
        return f"{value:%d %b %Y %H:%M} UTC"
    return f"{value:%d %b %Y}"


FILTERS = {
    "eur": eur,
    "eur_compact": eur_compact,
    "eur_short": eur_short,
    "pct": pct,
    "prob": prob,
    "number": number,
    "day": day,
}
