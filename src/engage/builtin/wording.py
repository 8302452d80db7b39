"""Plain-language helpers shared by the built-in factors and rules.

Every sentence engage writes names the facts and the numbers behind them; these helpers keep
the wording of days, counts, spans and people the same everywhere.
"""

from __future__ import annotations

from datetime import date, datetime

from engage.facts import CustomerFacts, OwnerStatus
from engage.health import Health
from engage.models import Owner


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 email``, ``3 emails``; ``many`` spells an irregular plural."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def whole_days(days: float) -> int:
    """Whole days elapsed (floored, never negative)."""
    whole = int(days)
    return whole if whole > 0 else 0


def ago(days: float) -> str:
    """``today``, ``yesterday``, ``41 days ago``, and from a year on ``3 years 2 months ago``."""
    whole = whole_days(days)
    if whole == 0:
        return "today"
    if whole == 1:
        return "yesterday"
    if whole >= 365:
        return f"{span(whole)} ago"
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


def touches(count: int) -> str:
    """``1 touch``, ``12 touches``."""
    return plural(count, "touch", "touches")


def rate_drop(before: int, before_days: float, recent: int, recent_days: int, together: str) -> str:
    """How a touch rate fell over a relationship of ``together``, in words a person would use.

    Monthly rates while both are at least about one a month (``down from 4.3 to 1 touches a
    month after 6 years together``); otherwise the counts, which never read as "0 to 0"
    (``12 touches before the last 90 days, 1 since (2 years together)``). ``before_days`` is
    the span the earlier touches came in.
    """
    past = before / max(before_days, 1e-9) * 30.44
    now = recent / max(recent_days, 1) * 30.44
    if past >= 0.95 and now >= 0.95:
        return (
            f"down from {number(past)} to {number(now)} touches a month after {together} together"
        )
    return (
        f"{touches(before)} before the last {recent_days} days, {recent or 'none'} since "
        f"({together} together)"
    )


def monthly(per_day: float) -> str:
    """A touch rate per day as a monthly rate: ``2.3 touches a month``."""
    per_month = per_day * 30.44
    if number(per_month) == "0":
        per_year = per_day * 365.25
        if number(per_year) != "0":
            return f"{number(per_year)} {'touch' if number(per_year) == '1' else 'touches'} a year"
        return "less than one touch a year"
    return f"{number(per_month)} {'touch' if number(per_month) == '1' else 'touches'} a month"


def who(owner: Owner | None, fallback: str = "the owner") -> str:
    """An owner's name, else email, else id."""
    if owner is None:
        return fallback
    return owner.name or owner.email or owner.id


def iso(day: date | datetime) -> str:
    """A date as ``2024-03-01``."""
    return (day.date() if isinstance(day, datetime) else day).isoformat()


def health_line(health: Health) -> str:
    """``health 31/100 (at_risk)``, or that there is no score yet."""
    if health.score is None:
        return "no health score yet: no touch recorded"
    return f"health {health.score}/100 ({health.band.value})"


def owner_away(facts: CustomerFacts) -> str | None:
    """Why the owner cannot answer (``their owner Jo has left``), or None when they can."""
    status = facts.owner_status
    name = who(facts.owner, facts.customer.owner or "the owner")
    if status is OwnerStatus.GONE:
        return f"their owner {name} has left"
    if status is OwnerStatus.INACTIVE:
        return f"their owner {name} has been inactive"
    if status is OwnerStatus.NONE:
        return "nobody owns the account"
    return None
