"""Seed variants: regimes, seeds and batch orders, risk-equivalent checkpoints, determinism,
and grouped training equal to training alone."""
import numpy as np
import pytest

from image_experiments.datasets import load_dataset
from image_experiments.training import (
    FIXED,
    REGIMES,
    BatchOrder,
    Seeds,
    Strategy,
    Tracker,
    TrainData,
    TrainOptions,
    evaluate_checkpoints,
    strategies,
    train_variants,
    variant_seeds,
)
from image_experiments.transforms import OODSet, to_float
from irrepro.errors import UserError


def test_the_regimes_are_the_papers():
    assert REGIMES["lr"] == (3e-3, 2e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5)
    assert REGIMES["batch"] == (8, 16, 32, 64, 128, 256, 512)
    assert FIXED == {"lr": 1e-4, "batch": 64}
    assert [(s.lr, s.batch) for s in strategies("lr")][0] == (3e-3, 64)
    assert [(s.lr, s.batch) for s in strategies("batch")][-1] == (1e-4, 512)


def test_strategies_can_be_restricted_to_some_values():
    assert [s.value for s in strategies("lr", [1e-4, 1e-3, 64])] == [1e-3, 1e-4]
    assert [s.value for s in strategies("batch", [1e-4, 1e-3, 64])] == [64]
    with pytest.raises(UserError, match="selects none of the batch regime's values"):
        strategies("batch", [1e-3])


def test_variants_differ_in_the_seeds_asked_for():
    assert variant_seeds(3) == [Seeds(0, 0), Seeds(1, 1), Seeds(2, 2)]
    assert variant_seeds(3, "init") == [Seeds(0, 0), Seeds(1, 0), Seeds(2, 0)]
    assert variant_seeds(3, "order") == [Seeds(0, 0), Seeds(0, 1), Seeds(0, 2)]
    with pytest.raises(UserError, match="unknown --vary"):
        variant_seeds(3, "data")


def test_each_epoch_visits_every_example_once_in_its_own_order():
    order = BatchOrder(n=12, batch=4, seed=0, order_seed=0)
    batches = order.batches(0, 9)  # 3 epochs of 3 full batches
    epochs = batches.reshape(3, 12)
    assert all(sorted(e) == list(range(12)) for e in epochs)
    assert not np.array_equal(epochs[0], epochs[1])
    np.testing.assert_array_equal(order.batches(4, 2), batches[4:6])  # random access
    np.testing.assert_array_equal(BatchOrder(12, 4, 0, 0).batches(0, 9), batches)
    assert not np.array_equal(BatchOrder(12, 4, 0, 1).batches(0, 3), batches[:3])


def test_batches_run_across_epoch_boundaries_and_stay_full():
    batches = BatchOrder(n=10, batch=4, seed=0, order_seed=0).batches(0, 5)  # 20 examples
    assert batches.shape == (5, 4)
    flat = batches.ravel()
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:]) == list(range(10))


def feed(tracker, accuracies):
    """Evaluations at steps 10, 20, ...; the 'weights' of variant k are (k, step)."""
    for i, acc in enumerate(accuracies):
        step = 10 * (i + 1)
        tracker.update(step, acc, lambda k, step=step: (k, step))


def test_the_target_checkpoint_is_the_first_evaluation_reaching_the_target():
    tracker = Tracker(3, target=0.9)
    feed(tracker, [[0.5, 0.89, 0.2], [0.9, 0.95, 0.3], [0.95, 0.7, 0.91], [0.99, 0.99, 0.99]])
    assert [(c.step, c.accuracy, c.weights) for c in tracker.target] == [
        (20, 0.9, (0, 20)), (20, 0.95, (1, 20)), (30, 0.91, (2, 30))]
    assert tracker.all_reached() and tracker.done()
    assert tracker.steps == [10, 20, 30, 40] and tracker.history[1].tolist() == [0.9, 0.95, 0.3]


def test_training_goes_on_until_every_variant_has_its_checkpoint():
    tracker = Tracker(2, target=0.9)
    feed(tracker, [[0.95, 0.5]])
    assert not tracker.done() and tracker.target[1] is None


def test_the_pseudo_maximum_is_the_best_accuracy_reached_by_half_the_variants():
    tracker = Tracker(4, target=0.5, keep_best=True, patience=2)
    feed(tracker, [[0.6, 0.6, 0.6, 0.6], [0.8, 0.7, 0.9, 0.65], [0.85, 0.72, 0.95, 0.66],
                   [0.82, 0.75, 0.9, 0.6]])
    # bests 0.85, 0.75, 0.95, 0.66: ceil(4/2) = 2 variants reach 0.85
    level, checkpoints = tracker.pseudo_max()
    assert level == 0.85
    assert checkpoints[0].step == 30 and checkpoints[2].step == 20  # first evals >= 0.85
    assert checkpoints[1] is None and checkpoints[3] is None
    assert not tracker.done()  # variant 1 improved at the last evaluation
    feed(tracker, [[0.8, 0.7, 0.9, 0.6]] * 2)
    assert tracker.converged() and tracker.done()


def test_only_checkpoints_that_can_still_become_the_pseudo_maximum_are_kept():
    tracker = Tracker(3, keep_best=True)
    feed(tracker, [[0.1, 0.2, 0.0], [0.3, 0.4, 0.1], [0.5, 0.35, 0.2]])
    # two of three variants reached 0.4, so the level will be at least 0.4: a variant's
    # checkpoint for it is its first record >= the level, and records below are dropped
    assert [[c.accuracy for c in r] for r in tracker.records] == [[0.5], [0.4], []]


# Training on real (tiny) data: scikit-learn's 8x8 digits, bundled, no file needed.

@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits")
    return TrainData(to_float(data.x_train[:256]), data.y_train[:256],
                     to_float(data.x_test[:200]), data.y_test[:200], 10)


@pytest.fixture(scope="module")
def trained(digits):
    """Variants (0,0), (1,0), (0,1) trained twice, and variant (1,0) trained alone."""
    options = TrainOptions(epochs_max=2, evals_per_epoch=2)
    strategy = Strategy("lr", 3e-3)
    seeds = [Seeds(0, 0), Seeds(1, 0), Seeds(0, 1)]
    first = train_variants(digits, strategy, seeds, options, 0.3, progress=False)
    again = train_variants(digits, strategy, seeds, options, 0.3, progress=False)
    alone = train_variants(digits, strategy, [Seeds(1, 0)], options, 0.3, progress=False)
    return first, again, alone


def test_training_reports_its_device_and_history(trained, digits):
    first = trained[0]
    assert first.device.startswith(("CPU", "GPU"))
    assert first.steps_per_epoch == 256 / 64
    assert first.tracker.steps == [2, 4, 6, 8] or first.tracker.all_reached()
    assert first.tracker.history[-1].max() > 0.3  # it learns: chance is 0.1


def test_the_same_seeds_give_identical_predictions(trained, digits):
    first, again, _ = trained
    np.testing.assert_array_equal(first.group.logits(digits.x_test),
                                  again.group.logits(digits.x_test))


def test_a_different_init_or_order_seed_gives_different_predictions(trained, digits):
    logits = trained[0].group.logits(digits.x_test)
    assert np.abs(logits[0] - logits[1]).max() > 1e-3  # init seed differs
    assert np.abs(logits[0] - logits[2]).max() > 1e-3  # order seed differs


def test_a_variant_trained_in_a_group_equals_it_trained_alone(trained, digits):
    first, _, alone = trained
    assert alone.tracker.steps == first.tracker.steps[:len(alone.tracker.steps)]
    np.testing.assert_allclose(alone.group.logits(digits.x_test)[0],
                               first.group.logits(digits.x_test)[1], rtol=1e-5, atol=1e-5)
    for mine, its in zip(alone.group.get_weights(0), first.group.get_weights(1)):
        np.testing.assert_allclose(mine, its, rtol=1e-5, atol=1e-6)


def test_checkpoints_reproduce_the_accuracy_measured_when_they_were_taken(trained, digits):
    first = trained[0]
    tracker = first.tracker
    steps, history = np.array(tracker.steps), np.array(tracker.history)
    for k, checkpoint in enumerate(tracker.target):
        if checkpoint is None:
            assert history[:, k].max() < 0.3
            continue
        reached = np.flatnonzero(history[:, k] >= 0.3)[0]  # the first evaluation reaching it
        # located between the coarse evaluation before and this one
        assert (steps[reached - 1] if reached else 0) < checkpoint.step <= steps[reached]
        assert checkpoint.accuracy >= 0.3
    outputs = evaluate_checkpoints(first.group, tracker.target,
                                   [OODSet("test", digits.x_test, digits.y_test)],
                                   digits.x_test[:50])
    predicted = outputs.logp["test"].argmax(axis=-1)
    np.testing.assert_allclose((predicted == digits.y_test).mean(axis=1), outputs.accuracy)
    np.testing.assert_allclose(np.exp(outputs.logp["test"]).sum(axis=-1), 1, rtol=1e-5)
    assert outputs.acts["cnn"].shape == (len(outputs.variants), 50, 384)
    assert outputs.acts["fc1"].shape == (len(outputs.variants), 50, 512)


def test_retracing_warnings_about_variant_groups_are_dropped_and_others_kept():
    import logging

    import tensorflow as tf

    import image_experiments.group  # noqa: F401  (installs the filter)

    def record(message):
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message, None, None)

    about_groups = ("5 out of the last 13 calls to <bound method VariantGroup._probe of <x>> "
                    "triggered tf.function retracing.")
    assert not tf.get_logger().filter(record(about_groups))
    assert tf.get_logger().filter(record("5 out of the last 13 calls to <function f> "
                                         "triggered tf.function retracing."))


# Tight risk equivalence: the target checkpoint is located to one optimizer step.

@pytest.fixture(scope="module")
def located(digits):
    """3 variants on 512 digits, evaluated once an epoch (8 steps: one level of finer
    evaluations sees every step), and the same variants stepped one step at a time."""
    from image_experiments.group import VariantGroup
    from image_experiments.training import init_rng

    data = load_dataset("digits")
    small = TrainData(to_float(data.x_train[:512]), data.y_train[:512],
                      to_float(data.x_test), data.y_test, 10)
    seeds = variant_seeds(3)
    options = TrainOptions(epochs_max=3, evals_per_epoch=1)
    result = train_variants(small, Strategy("lr", 3e-3), seeds, options, 0.5, progress=False)
    group = VariantGroup.build(options.architecture(), small.x_train.shape[1:], 10,
                               [init_rng(0, s) for s in seeds], 3e-3, small.x_train,
                               small.y_train)
    orders = [BatchOrder(512, 64, 0, s.order) for s in seeds]
    per_step, weights = [], {}
    for step in range(1, result.steps + 1):
        group.train(np.stack([o.batches(step - 1, 1) for o in orders], axis=1))
        per_step.append(group.accuracy(small.x_test, small.y_test))
        weights[step] = [group.get_weights(k) for k in range(3)]
    return result, np.array(per_step), weights


def test_the_target_checkpoint_is_the_first_step_at_or_above_the_target(located):
    result, per_step, weights = located
    assert result.tracker.steps == [8, 16, 24][:len(result.tracker.steps)]
    assert result.search_steps > 0 and result.search_evaluations > 0
    for k, checkpoint in enumerate(result.tracker.target):
        first = int(np.flatnonzero(per_step[:, k] >= 0.5)[0]) + 1  # steps count from 1
        assert checkpoint.step == first
        assert checkpoint.accuracy == per_step[first - 1, k]  # the accuracy that chose it
        assert checkpoint.previous == per_step[first - 2, k] < 0.5
        for mine, fresh in zip(checkpoint.weights, weights[first][k]):
            np.testing.assert_array_equal(mine, fresh)  # replayed steps repeat exactly
    # the search restored the group: it goes on as if it had never looked back
    for k in range(3):
        for mine, fresh in zip(result.group.get_weights(k), weights[result.steps][k]):
            np.testing.assert_array_equal(mine, fresh)


def test_a_coarse_to_fine_search_narrows_long_intervals_level_by_level(digits):
    """Evaluating every 32 steps, the search's levels (4, then 1 step) still find the
    first step at or above the target among those they see, and it is one step past a
    state below the target."""
    data = load_dataset("digits")
    small = TrainData(to_float(data.x_train), data.y_train, to_float(data.x_test),
                      data.y_test, 10)
    options = TrainOptions(epochs_max=2, evals_per_epoch=1)
    result = train_variants(small, Strategy("batch", 32), variant_seeds(2), options, 0.6,
                            progress=False)
    assert result.tracker.steps[0] == 45  # 1437 / 32 steps between coarse evaluations
    for checkpoint in result.tracker.target:
        assert checkpoint.accuracy >= 0.6 > checkpoint.previous
        assert checkpoint.step % 45 != 0 or checkpoint.step == 45 * (checkpoint.step // 45)
    assert result.search_evaluations < 45  # far fewer than one evaluation per step


def test_the_risk_band_is_0_3_pp_or_two_test_inputs():
    from image_experiments.training import risk_band

    assert risk_band(10_000) == 0.003 and risk_band(360) == pytest.approx(2 / 360)
    assert risk_band(667) == 0.003 and risk_band(600) == pytest.approx(2 / 600)


def test_a_variant_short_of_the_target_trains_on_up_to_the_cap(digits):
    options = TrainOptions(epochs_max=1, evals_per_epoch=2, epochs_cap=3)
    result = train_variants(digits, Strategy("lr", 3e-3), variant_seeds(2), options, 0.999,
                            progress=False)
    assert result.steps == 3 * 4  # 3 epochs of 256 / 64 steps, not epochs_max's 4
    assert result.tracker.target == [None, None]
    assert TrainOptions(epochs_max=5).cap() == 10 and TrainOptions(epochs_max=5,
                                                                   epochs_cap=7).cap() == 7
