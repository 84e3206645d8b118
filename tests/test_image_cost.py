"""image_experiments.cost: a training unit's cost estimated from its strategy's probe."""
import json

import pytest

from image_experiments.cost import sweep_seconds, unit_seconds

# A probe evaluated every 10 steps: 10 s in all, 4 s of it evaluating 100 test images 4 times
# (0.01 s per image), so 6 s for 40 steps (0.15 s per step).
PROBE = {"seconds": 10.0, "eval_seconds": 4.0, "steps": [10, 20, 30, 40],
         "accuracy": [0.5, 0.6, 0.7, 0.8], "test_images": 100, "checkpoint_images": 500,
         "steps_per_epoch": 20.0}


def test_a_unit_costs_its_variants_steps_to_the_target_and_their_evaluations():
    # Target 0.65 is first reached at step 30, the 3rd evaluation:
    # 0.15 * 30 + 0.01 * (100 * 3 + 500) = 12.5 s per variant.
    assert unit_seconds(PROBE, 0.65, 1, 3.0) == pytest.approx(12.5)
    assert unit_seconds(PROBE, 0.65, 4, 3.0) == pytest.approx(50.0)


def test_a_unit_that_also_trains_to_convergence_costs_at_least_the_whole_probe():
    # The pseudo-maximum checkpoint trains on as the probe did: 40 steps, 4 evaluations:
    # 0.15 * 40 + 0.01 * (100 * 4 + 500) = 15 s per variant.
    assert unit_seconds(PROBE, 0.65, 1, 3.0, converge=True) == pytest.approx(15.0)


def test_a_target_the_probe_never_reached_costs_the_cap():
    # The cap, 3 epochs of 20 steps = 60 steps and 6 evaluations:
    # 0.15 * 60 + 0.01 * (100 * 6 + 500) = 20 s per variant.
    assert unit_seconds(PROBE, 0.9, 1, 3.0) == pytest.approx(20.0)


def test_a_probe_record_of_an_older_version_gives_no_estimate():
    old = {key: value for key, value in PROBE.items() if key != "eval_seconds"}
    assert unit_seconds(old, 0.65, 4, 3.0) is None


class _Strategy:
    def __init__(self, regime, value):
        self.regime, self.value = regime, value


class _Unit:
    def __init__(self, path, regime, value, target=None, done=False):
        self.path, self.strategy, self.target = path, _Strategy(regime, value), target
        self._done = done

    def done(self):
        return self._done or self.path.exists()


def test_a_sweep_costs_its_units_not_yet_done(tmp_path):
    probes = []
    for value in (1e-3, 1e-4):
        path = tmp_path / f"lr-{value}.json"
        path.write_text(json.dumps(PROBE))
        probes.append(_Unit(path, "lr", value))
    units = [_Unit(tmp_path / "a.npz", "lr", 1e-3, 0.65),
             _Unit(tmp_path / "b.npz", "lr", 1e-4, 0.9),
             _Unit(tmp_path / "c.npz", "lr", 1e-4, 0.9, done=True)]
    assert sweep_seconds(units, probes, 2, 3.0) == pytest.approx(2 * 12.5 + 2 * 20.0)
    # A unit whose strategy has no probe (a given target) leaves the sweep unestimated.
    units.append(_Unit(tmp_path / "d.npz", "batch", 64, 0.9))
    assert sweep_seconds(units, probes, 2, 3.0) is None
