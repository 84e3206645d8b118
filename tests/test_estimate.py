"""Cost estimates: said before long runs, absurd sizes refused."""
import pytest

from simulator.config import Setting
from simulator.errors import UserError
from simulator.estimate import (ANNOUNCE_SECONDS, check_feasible, cost_notice,
                                estimate_seconds, format_seconds)


def test_a_small_run_says_nothing_and_a_paper_scale_one_says_its_cost():
    assert cost_notice([Setting(examples=2 ** 14, pairs=2)]) is None
    paper = Setting(model="linear", examples=2 ** 26, pairs=16, window=2 ** 10)
    assert estimate_seconds(paper) > ANNOUNCE_SECONDS
    assert cost_notice([paper]).startswith("1 setting: estimated")


def test_estimates_grow_with_examples_pairs_and_model_size():
    base = Setting(model="linear", examples=2 ** 20, pairs=4)
    assert estimate_seconds(Setting(model="linear", examples=2 ** 22, pairs=4)) > estimate_seconds(base)
    assert estimate_seconds(Setting(model="linear", examples=2 ** 20, pairs=16)) > estimate_seconds(base)
    assert estimate_seconds(Setting(model="mlp", examples=2 ** 20, pairs=4)) > estimate_seconds(base)


def test_sizes_no_machine_could_finish_are_refused_in_one_line():
    with pytest.raises(UserError, match="use fewer --examples") as refused:
        check_feasible([Setting(examples=2 ** 70)])
    assert "\n" not in str(refused.value) and "years" in str(refused.value)
    check_feasible([Setting(examples=2 ** 26, pairs=16)])  # the paper's scale is fine


@pytest.mark.parametrize("seconds, text", [(45, "45 s"), (720, "12 min"), (3.5 * 3600, "3.5 h"),
                                           (20 * 86400, "20 days")])
def test_durations_read_naturally(seconds, text):
    assert format_seconds(seconds) == text
