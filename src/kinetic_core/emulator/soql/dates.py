"""Relative date literals (``TODAY``, ``LAST_N_DAYS:30`` ...) as half-open UTC day ranges.

Salesforce evaluates them in the org's time zone; the emulated org runs in UTC. Weeks
start on Sunday (the en_US locale); quarters are calendar quarters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

SIMPLE_LITERALS = frozenset(
    {
        "YESTERDAY",
        "TODAY",
        "TOMORROW",
        "LAST_WEEK",
        "THIS_WEEK",
        "NEXT_WEEK",
        "LAST_MONTH",
        "THIS_MONTH",
        "NEXT_MONTH",
        "LAST_90_DAYS",
        "NEXT_90_DAYS",
        "LAST_QUARTER",
        "THIS_QUARTER",
        "NEXT_QUARTER",
        "LAST_YEAR",
        "THIS_YEAR",
        "NEXT_YEAR",
    }
)
N_LITERALS = frozenset(
    {
        "LAST_N_DAYS",
        "NEXT_N_DAYS",
        "N_DAYS_AGO",
        "LAST_N_WEEKS",
        "NEXT_N_WEEKS",
        "N_WEEKS_AGO",
        "LAST_N_MONTHS",
        "NEXT_N_MONTHS",
        "N_MONTHS_AGO",
        "LAST_N_QUARTERS",
        "NEXT_N_QUARTERS",
        "LAST_N_YEARS",
        "NEXT_N_YEARS",
        "N_YEARS_AGO",
    }
)


def _month_start(year: int, month: int) -> date:
    """First day of ``month`` (which may be out of 1..12; it wraps into other years)."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1)


def date_range(name: str, n: int | None, today: date) -> tuple[date, date]:
    """The ``[start, end)`` days a literal covers.

    Raises:
        KeyError: unknown literal name.

    Example:
        >>> date_range("THIS_MONTH", None, date(2024, 2, 10))
        (datetime.date(2024, 2, 1), datetime.date(2024, 3, 1))
    """
    day = timedelta(days=1)
    week_start = today - timedelta(days=(today.weekday() + 1) % 7)
    month = _month_start(today.year, today.month)
    q_month = 3 * ((today.month - 1) // 3) + 1
    quarter = _month_start(today.year, q_month)
    year = date(today.year, 1, 1)
    k = n or 0
    simple: dict[str, tuple[date, date]] = {
        "YESTERDAY": (today - day, today),
        "TODAY": (today, today + day),
        "TOMORROW": (today + day, today + 2 * day),
        "LAST_WEEK": (week_start - 7 * day, week_start),
        "THIS_WEEK": (week_start, week_start + 7 * day),
        "NEXT_WEEK": (week_start + 7 * day, week_start + 14 * day),
        "LAST_MONTH": (_month_start(today.year, today.month - 1), month),
        "THIS_MONTH": (month, _month_start(today.year, today.month + 1)),
        "NEXT_MONTH": (_month_start(today.year, today.month + 1), _month_start(today.year, today.month + 2)),
        "LAST_90_DAYS": (today - 90 * day, today + day),
        "NEXT_90_DAYS": (today + day, today + 91 * day),
        "LAST_QUARTER": (_month_start(today.year, q_month - 3), quarter),
        "THIS_QUARTER": (quarter, _month_start(today.year, q_month + 3)),
        "NEXT_QUARTER": (_month_start(today.year, q_month + 3), _month_start(today.year, q_month + 6)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), year),
        "THIS_YEAR": (year, date(today.year + 1, 1, 1)),
        "NEXT_YEAR": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)),
    }
    if n is None:
        return simple[name]
    with_n: dict[str, tuple[date, date]] = {
        "LAST_N_DAYS": (today - k * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (k + 1) * day),
        "N_DAYS_AGO": (today - k * day, today - (k - 1) * day),
        "LAST_N_WEEKS": (week_start - 7 * k * day, week_start),
        "NEXT_N_WEEKS": (week_start + 7 * day, week_start + 7 * (k + 1) * day),
        "N_WEEKS_AGO": (week_start - 7 * k * day, week_start - 7 * (k - 1) * day),
        "LAST_N_MONTHS": (_month_start(today.year, today.month - k), month),
        "NEXT_N_MONTHS": (
            _month_start(today.year, today.month + 1),
            _month_start(today.year, today.month + 1 + k),
        ),
        "N_MONTHS_AGO": (
            _month_start(today.year, today.month - k),
            _month_start(today.year, today.month - k + 1),
        ),
        "LAST_N_QUARTERS": (_month_start(today.year, q_month - 3 * k), quarter),
        "NEXT_N_QUARTERS": (
            _month_start(today.year, q_month + 3),
            _month_start(today.year, q_month + 3 + 3 * k),
        ),
        "LAST_N_YEARS": (date(today.year - k, 1, 1), year),
        "NEXT_N_YEARS": (date(today.year + 1, 1, 1), date(today.year + 1 + k, 1, 1)),
        "N_YEARS_AGO": (date(today.year - k, 1, 1), date(today.year - k + 1, 1, 1)),
    }
    return with_n[name]


def stored_bounds(name: str, n: int | None, now: datetime, *, datetime_field: bool) -> tuple[str, str]:
    """The range as stored strings: ``YYYY-MM-DD`` for date fields, ``...T00:00:00.000Z`` for datetimes.

    Example:
        >>> stored_bounds("TODAY", None, datetime(2024, 5, 6, 12), datetime_field=True)
        ('2024-05-06T00:00:00.000Z', '2024-05-07T00:00:00.000Z')
    """
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    start, end = date_range(name, n, now.date())
    if datetime_field:
        return f"{start.isoformat()}T00:00:00.000Z", f"{end.isoformat()}T00:00:00.000Z"
    return start.isoformat(), end.isoformat()
