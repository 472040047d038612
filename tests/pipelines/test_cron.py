"""Cron expressions: next fire times across minute, day, month, year and leap-day boundaries."""

from datetime import datetime

import pytest

from pipelines.cron import Cron


@pytest.mark.parametrize(
    "expression, after, expected",
    [
        # 5 fields: minute hour day-of-month month day-of-week; strictly after `after`.
        ("*/15 * * * *", datetime(2024, 5, 1, 10, 7, 30), datetime(2024, 5, 1, 10, 15)),
        ("*/15 * * * *", datetime(2024, 5, 1, 10, 15), datetime(2024, 5, 1, 10, 30)),
        ("*/15 * * * *", datetime(2024, 5, 1, 23, 50), datetime(2024, 5, 2, 0, 0)),
        ("30 23 * * *", datetime(2024, 5, 1, 23, 45), datetime(2024, 5, 2, 23, 30)),
        ("0 0 1 * *", datetime(2024, 1, 31, 12), datetime(2024, 2, 1)),
        ("0 0 31 * *", datetime(2024, 4, 1), datetime(2024, 5, 31)),  # April has 30 days
        ("0 0 1 1 *", datetime(2024, 12, 31, 23, 59, 59), datetime(2025, 1, 1)),
        ("0 12 29 2 *", datetime(2025, 3, 1), datetime(2028, 2, 29, 12)),  # the next leap day
        ("0 12 29 2 *", datetime(2096, 3, 1), datetime(2104, 2, 29, 12)),  # 2100 is no leap year
        ("0 9 * * 1-5", datetime(2024, 3, 1, 10), datetime(2024, 3, 4, 9)),  # Fri -> Mon
        ("0 9 * * 0", datetime(2024, 3, 1), datetime(2024, 3, 3, 9)),  # Sunday as 0 ...
        ("0 9 * * 7", datetime(2024, 3, 1), datetime(2024, 3, 3, 9)),  # ... and as 7
        ("0 9 * * sat,SUN", datetime(2024, 3, 1), datetime(2024, 3, 2, 9)),
        ("0 0 1 jan-mar/2 *", datetime(2024, 1, 2), datetime(2024, 3, 1)),
        # Both day fields restricted: either one fires (the 13th, or a Friday).
        ("0 0 13 * 5", datetime(2024, 9, 1), datetime(2024, 9, 6)),
        ("0 0 13 * 5", datetime(2024, 9, 10), datetime(2024, 9, 13)),
        ("0,30 8-12/2 * * *", datetime(2024, 1, 1, 8, 31), datetime(2024, 1, 1, 10, 0)),
        ("5/20 * * * *", datetime(2024, 1, 1, 0, 26), datetime(2024, 1, 1, 0, 45)),  # 5, 25, 45
        # 6 fields (seconds first), the form Kubeflow recurring runs use.
        ("0 0 */6 * * *", datetime(2024, 1, 1, 5, 59, 59), datetime(2024, 1, 1, 6)),
        ("0 0 */6 * * *", datetime(2024, 1, 1, 6), datetime(2024, 1, 1, 12)),
        ("0 0 */6 * * *", datetime(2024, 2, 29, 18, 0, 1), datetime(2024, 3, 1)),
        ("10-50/20 * * * * *", datetime(2024, 1, 1, 0, 0, 31), datetime(2024, 1, 1, 0, 0, 50)),
        ("* * * * * *", datetime(2024, 12, 31, 23, 59, 59, 500), datetime(2025, 1, 1)),
        ("0 0 0 ? * MON", datetime(2024, 3, 1), datetime(2024, 3, 4)),
    ],
)
def test_next_fire_time(expression, after, expected):
    assert Cron.parse(expression).next_after(after) == expected


@pytest.mark.parametrize(
    "expression, message",
    [
        ("", "has 0 fields"),
        ("* * * *", "has 4 fields"),
        ("* * * * * * *", "has 7 fields"),
        ("60 * * * *", "minute field '60' has 60, outside 0-59"),
        ("* 24 * * *", "hour field '24'"),
        ("* * 0 * *", "day of month field '0'"),
        ("* * * 13 *", "month field '13'"),
        ("* * * * 8", "day of week field '8'"),
        ("61 * * * * *", "second field '61'"),
        ("*/0 * * * *", "minute field '*/0' has step 0"),
        ("*/x * * * *", "minute field '*/x' has step 'x'"),
        ("5-2 * * * *", "minute field '5-2' has the range 5-2"),
        ("a * * * *", "minute field 'a' has 'a', not a number"),
        ("1,,2 * * * *", "minute field '1,,2'"),
        ("? * * * *", "minute field '?'"),  # ? only stands for a day
        ("* * * foo *", "month field 'foo'"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_bad_expressions_name_the_field(expression, message):
    with pytest.raises(ValueError) as error:
        Cron.parse(expression)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "expression, message",
    [
        ("0 */6 * * *", "has 5 fields; Kubeflow expects 6 fields"),
        ("0 0 9 * * 7", "day of week field '7' has 7, outside 0-6"),
        ("0 0 9 * * 5-7", "day of week field '5-7' has 7, outside 0-6"),
        ("0 0 0 30 2 *", "never fires"),
    ],
)
def test_kfp_rules_are_checked_before_the_server_sees_the_expression(expression, message):
    with pytest.raises(ValueError, match=message):
        Cron.parse(expression, kfp=True)


def test_kfp_accepts_its_own_forms_and_sunday_as_0():
    cron = Cron.parse("0 0 9 ? * SUN,0", kfp=True)
    assert cron.next_after(datetime(2024, 3, 1)) == datetime(2024, 3, 3, 9)
