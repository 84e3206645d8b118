"""simulator.cost: what a setting costs before it runs, and the refusal of the impossible."""
import pytest

from irrepro.activations import ACTIVATIONS
from irrepro.durations import ANNOUNCE_SECONDS
from irrepro.errors import UserError
from simulator.config import Setting
from simulator.cost import (
    FLOPS_PER_SECOND,
    HIDDEN_UNIT_SECONDS,
    LARGE_LAYER_FLOPS_PER_SECOND,
    MAX_SECONDS,
    check_feasible,
    data_seconds,
    estimate_seconds,
    hidden_units,
    memory_estimate,
    n_parameters,
    products_seconds,
    shared_cores_seconds,
    step_seconds,
    steps_per_call,
)
from simulator.models import MLP, Wide, parse_model


def test_a_step_costs_per_multi_output_layer_and_single_outputs_next_to_nothing():
    linear, one, two = (step_seconds(32, 32, parse_model(m)) for m in ("linear", "1", "2"))
    assert linear < one < 1.05 * linear < two
    assert step_seconds(32, 32, parse_model("tower")) > two


def test_large_layers_products_run_at_the_cache_resident_rate():
    # [1024, 512]: kernels of 32 x 1024 and 1024 x 512 weights are large, biases and the
    # 512 x 1 output kernel small; 6 flops per weight and example
    large, small = 32 * 1024 + 1024 * 512, 1024 + 512 + 512 + 1
    want = 6 * 2 * 32 * (large / LARGE_LAYER_FLOPS_PER_SECOND + small / FLOPS_PER_SECOND)
    assert products_seconds(MLP((1024, 512)), 2, 32) == pytest.approx(want, rel=1e-12)
    assert products_seconds(MLP((16, 8, 4, 2)), 2, 32) == pytest.approx(
        6 * 2 * 32 * n_parameters(MLP((16, 8, 4, 2))) / FLOPS_PER_SECOND, rel=1e-12)


def test_hidden_units_are_every_layer_width_but_the_output():
    assert [hidden_units(parse_model(m)) for m in ("linear", "1", "2", "tower", "wide")] == \
        [0, 1, 2, 30, 1000]


def test_a_wide_step_costs_its_activations_beyond_its_products():
    # the wide model's 1000 units at batch 32 took 1.9 ms a step with SmeLU and 3.4 ms with
    # Swish in a run (32 models), its products and layers alone about 1.3 ms
    wide = parse_model("wide")
    assert 1.6e-3 < step_seconds(32, 32, wide, "smelu") < 2.2e-3
    assert 3.0e-3 < step_seconds(32, 32, wide, "swish") < 3.8e-3
    assert step_seconds(32, 32, Wide(2000)) > 1.8 * step_seconds(32, 32, Wide(1000))


def test_every_activation_has_a_price():
    assert set(HIDDEN_UNIT_SECONDS) == set(ACTIVATIONS)


def test_training_beside_data_generation_costs_more_than_the_longer_alone():
    assert shared_cores_seconds(100.0, 60.0) == shared_cores_seconds(60.0, 100.0) == 130.0


def test_windows_too_large_for_the_cache_generate_slower():
    small, large = (data_seconds(Setting(window=w, examples=2 ** 22)) for w in (2 ** 10, 2 ** 20))
    assert large > small


def test_steps_per_call_shrinks_for_large_models():
    assert steps_per_call(MLP(()), 32, 32) == 4096
    assert steps_per_call(MLP((1024, 512)), 32, 32) < 8


def test_the_estimate_grows_with_examples_pairs_and_width():
    base = Setting(model="tower", examples=2 ** 20, pairs=4)
    assert estimate_seconds(Setting(model="tower", examples=2 ** 22, pairs=4)) > \
        estimate_seconds(base)
    assert estimate_seconds(Setting(model="tower", examples=2 ** 20, pairs=16)) > \
        estimate_seconds(base)
    assert estimate_seconds(Setting(model="mlp", examples=2 ** 20, pairs=4)) > \
        estimate_seconds(base)


def test_a_run_beyond_thirty_days_is_refused_with_the_fix():
    setting = Setting(model="mlp", examples=2 ** 40, pairs=16)
    assert estimate_seconds(setting) > MAX_SECONDS
    with pytest.raises(UserError, match="would run for about .* years.*fewer --examples"):
        check_feasible(setting)
    assert check_feasible(Setting(model="linear", examples=2 ** 12, pairs=2)) < 60


def test_more_pairs_than_memory_holds_is_refused_first():
    setting = Setting(model="tower", examples=2 ** 11, pairs=2 ** 30)
    assert memory_estimate(setting, parse_model("tower")) > 2 ** 40
    with pytest.raises(UserError, match="use fewer --pairs"):
        check_feasible(setting)


def test_a_paper_scale_run_is_announced_and_a_small_one_is_not():
    assert estimate_seconds(Setting(examples=2 ** 14, pairs=2)) < ANNOUNCE_SECONDS
    paper = Setting(model="linear", examples=2 ** 26, pairs=16, window=2 ** 10)
    assert estimate_seconds(paper) > ANNOUNCE_SECONDS
