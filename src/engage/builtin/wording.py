"""Plain-language helpers shared by the built-in factors and rules.

Every sentence engage writes names the facts and the numbers behind them; these helpers keep
the wording of days, counts, spans and people the same everywhere.
"""

from __future__ import annotations

from datetime import date, datetime

from engage.facts import CustomerFacts
from engage.models import Owner


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 email``, ``3 emails``; ``many`` spells an irregular plural."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def whole_days(days: float) -> int:
    """Whole days elapsed (floored, never negative)."""
    return max(0, int(days))


def ago(days: float) -> str:
    """``today``, ``yesterday`` or ``41 days ago``."""
    whole = whole_days(days)
    if whole == 0:
        return "today"
    if whole == 1:
        return "yesterday"
    return f"{whole} days ago"


def days_ago(facts: CustomerFacts, moment: datetime) -> str:
    """How long before ``as_of`` a moment was: ``41 days ago``."""
    return ago(facts.days_since(moment) or 0.0)


def dated(facts: CustomerFacts, moment: datetime) -> str:
    """``41 days ago (2024-03-01)``."""
    return f"{days_ago(facts, moment)} ({moment.date().isoformat()})"


def number(value: float) -> str:
    """A count or rate without noise: ``3``, ``1.5``, ``0.3``."""
    if abs(value - round(value)) < 0.05:
        return str(round(value))
    return f"{value:.1f}"


def percent(share: float) -> str:
    """``17%``."""
    return f"{round(100 * share)}%"


def span(days: float) -> str:
    """A length of time as a person says it: ``3 years 2 months``, ``8 months``, ``20 days``."""
    whole = whole_days(days)
    years, rest = divmod(whole, 365)
    months = int(rest // 30.44)
    if years and months:
        return f"{plural(years, 'year')} {plural(months, 'month')}"
    if years:
        return plural(years, "year")
    if months:
        return plural(months, "month")
    return plural(whole, "day")


def monthly(per_day: float) -> str:
    """A touch rate per day as a monthly rate: ``2.3 touches a month``."""
    per_month = per_day * 30.44
    return f"{number(per_month)} {'touch' if number(per_month) == '1' else 'touches'} a month"


def who(owner: Owner | None, fallback: str = "the owner") -> str:
    """An owner's name, else email, else id."""
    if owner is None:
        return fallback
    return owner.name or owner.email or owner.id


def iso(day: date | datetime) -> str:
    """A date as ``2024-03-01``."""
    return (day.date() if isinstance(day, datetime) else day).isoformat()
