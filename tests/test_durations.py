"""irrepro.durations: estimates read as a person would say them."""
import pytest

from irrepro.durations import format_seconds


@pytest.mark.parametrize("seconds, text", [(45, "45 s"), (720, "12 min"), (3.5 * 3600, "3.5 h"),
                                           (20 * 86400, "20 days"), (3.2e8, "10.1 years")])
def test_durations_read_naturally(seconds, text):
    assert format_seconds(seconds) == text
