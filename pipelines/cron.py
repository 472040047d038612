"""Cron expressions for local recurring runs: 5 fields, or 6 with seconds first (as in Kubeflow)."""

from __future__ import annotations

import calendar
import dataclasses
import datetime

# (name, lowest, highest) per field, in the order of a 6-field expression.
_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),  # 0 and 7 are Sunday
)
_NAMES = {
    "month": {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m},
    "day of week": {d.lower(): (i + 1) % 7 for i, d in enumerate(calendar.day_abbr)},
}
# A leap-day expression ("0 0 29 2 *") fires at least once in 8 years (2096 -> 2104).
_SEARCH_YEARS = 8


@dataclasses.dataclass(frozen=True)
class Cron:
    """A parsed cron expression; `next_after(t)` is its first fire time after `t`.

    Fields: `*`, `?` (days only), numbers, `a-b`, `*/n`, `a-b/n`, `a/n` (a to the highest), and
    comma-separated lists of these; months and days of the week also by 3-letter name. As in cron,
    when both day fields are restricted a day matching either fires.

    Example:
        >>> Cron.parse("0 0 */6 * * *").next_after(datetime.datetime(2024, 1, 1, 7, 30))
        datetime.datetime(2024, 1, 1, 12, 0)
    """

    expression: str
    seconds: frozenset
    minutes: frozenset
    hours: frozenset
    days: frozenset
    months: frozenset
    weekdays: frozenset  # 0 = Sunday
    any_day: bool  # the day-of-month field is * or ?
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """Raises ValueError naming the field at fault, or saying that the expression never fires."""
        texts = expression.split()
        if len(texts) not in (5, 6):
            raise ValueError(
                f"cron {expression!r} has {len(texts)} fields; expected 5 (minute hour "
                "day-of-month month day-of-week) or 6 (seconds first, as Kubeflow uses)"
            )
        if len(texts) == 5:
            texts = ["0", *texts]
        values = [_field(expression, text, *spec) for text, spec in zip(texts, _FIELDS)]
        weekdays = frozenset(d % 7 for d in values[5])
        cron = cls(
            expression,
            *values[:5],
            weekdays,
            any_day=texts[3] in ("*", "?"),
            any_weekday=texts[5] in ("*", "?"),
        )
        cron.next_after(datetime.datetime(2000, 1, 1))  # raises if no date ever matches
        return cron

    def _day_matches(self, t: datetime.datetime) -> bool:
        in_month = t.day in self.days
        in_week = (t.weekday() + 1) % 7 in self.weekdays  # datetime: Monday = 0
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, when: datetime.datetime) -> datetime.datetime:
        """The first time strictly after `when` (naive, wall-clock) that the expression fires."""
        t = when.replace(microsecond=0) + datetime.timedelta(seconds=1)
        last_year = t.year + _SEARCH_YEARS
        while t.year <= last_year:
            if t.month not in self.months:
                year, month = divmod(t.year * 12 + t.month, 12)  # month is now 0-based, next
                t = datetime.datetime(year, month + 1, 1)
            elif not self._day_matches(t):
                t = datetime.datetime(t.year, t.month, t.day) + datetime.timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + datetime.timedelta(hours=1)
            elif t.minute not in self.minutes:
                t = t.replace(second=0) + datetime.timedelta(minutes=1)
            elif t.second not in self.seconds:
                t += datetime.timedelta(seconds=1)
            else:
                return t
        raise ValueError(
            f"cron {self.expression!r} never fires: no date matches its day and month fields"
        )


def _field(expression: str, text: str, name: str, low: int, high: int) -> frozenset:
    def fail(why: str) -> ValueError:
        return ValueError(f"cron {expression!r}: {name} field {text!r} {why}")

    def number(item: str) -> int:
        value = _NAMES.get(name, {}).get(item.lower())
        if value is None:
            try:
                value = int(item)
            except ValueError:
                raise fail(f"has {item!r}, not a number") from None
        if not low <= value <= high:
            raise fail(f"has {value}, outside {low}-{high}")
        return value

    found = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            try:
                step = int(step_text)
            except ValueError:
                raise fail(f"has step {step_text!r}, not a number") from None
            if step < 1:
                raise fail(f"has step {step}, must be >= 1")
        if base == "*" or (base == "?" and name.startswith("day")):
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = number(first), number(last)
            if start > end:
                raise fail(f"has the range {base}, whose start is after its end")
        else:
            start = number(base)
            end = high if slash else start
        found.update(range(start, end + 1, step))
    return frozenset(found)
