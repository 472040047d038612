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
    ("day of week", 0, 7),  # 0 and 7 are Sunday (KFP: 0-6 only)
)
_NAMES = {
    "month": {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m},
    "day of week": {d.lower(): (i + 1) % 7 for i, d in enumerate(calendar.day_abbr)},
}
# A leap-day expression ("0 0 29 2 *") fires at least once in 8 years (2096 -> 2104).
_SEARCH_YEARS = 8


@dataclasses.dataclass(frozen=True)
class Cron:
    """A checked cron expression; `next_after(t)` is its first fire time after `t` (croniter).

    Fields: `*`, `?` (days only), numbers, `a-b`, `*/n`, `a-b/n`, `a/n` (a to the highest), and
    comma-separated lists of these; months and days of the week also by 3-letter name. As in cron,
    when both day fields are restricted a day matching either fires.

    Example:
        >>> Cron.parse("0 0 */6 * * *").next_after(datetime.datetime(2024, 1, 1, 7, 30))
        datetime.datetime(2024, 1, 1, 12, 0)
    """

    expression: str
    seconds_first: bool  # 6 fields

    @classmethod
    def parse(cls, expression: str, *, kfp: bool = False) -> Cron:
        """Checks every field; with `kfp`, also the rules of Kubeflow's scheduler (robfig/cron):
        exactly 6 fields, seconds first, day of week 0-6.

        Raises:
            ValueError: naming the field at fault, or saying that the expression never fires.
        """
        texts = expression.split()
        if kfp and len(texts) != 6:
            raise ValueError(
                f"cron {expression!r} has {len(texts)} fields; Kubeflow expects 6 fields "
                "(second minute hour day-of-month month day-of-week)"
            )
        if len(texts) not in (5, 6):
            raise ValueError(
                f"cron {expression!r} has {len(texts)} fields; expected 5 (minute hour "
                "day-of-month month day-of-week) or 6 (seconds first, as Kubeflow uses)"
            )
        fields = _FIELDS if len(texts) == 6 else _FIELDS[1:]
        for text, (name, low, high) in zip(texts, fields):
            if kfp and name == "day of week":
                high = 6  # robfig/cron has no 7 for Sunday
            _field(expression, text, name, low, high)
        cron = cls(" ".join(texts), seconds_first=len(texts) == 6)
        cron.next_after(datetime.datetime(2000, 1, 1))  # raises if no date ever matches
        return cron

    def next_after(self, when: datetime.datetime) -> datetime.datetime:
        """The first time strictly after `when` (naive, wall-clock) that the expression fires."""
        from croniter import CroniterBadDateError, croniter

        try:
            return croniter(
                self.expression,
                when.replace(microsecond=0),
                second_at_beginning=self.seconds_first,
                max_years_between_matches=_SEARCH_YEARS,
            ).get_next(datetime.datetime)
        except CroniterBadDateError:
            raise ValueError(
                f"cron {self.expression!r} never fires: no date matches its day and month fields"
            ) from None


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
