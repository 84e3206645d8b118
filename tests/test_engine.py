"""The stacked engine trains each model exactly as Keras trains it alone."""
import os

import keras
import numpy as np
import pytest

import simulator.engine as engine_module
from irrepro.keras_activations import get_activation
from irrepro.streams import Role, rng_for
from irrepro.tf import tf
from simulator.cost import steps_per_call
from simulator.data import (
    PairedBatches,
    linear_model,
    unpack_features,
    unpack_labels,
)
from simulator.engine import (
    DEFAULT_CACHE_BYTES,
    StackedTrainer,
    last_level_cache_bytes,
    make_optimizer,
    run_setting,
    train_shards,
    unpack_batch,
)
from simulator.metrics import relative_pd
from simulator.models import (
    MLP,
    Wide,
    _dense_stack,
    batch_sum,
    has_transposed_gradient,
    is_small_layer,
    parse_model,
    product,
    stacked_init,
)

STEPS, BATCH = 200, 32


def train_both_ways(family, activation, optimizer, lr, same_init=False):
    """Weights after STEPS steps: from the engine [2, ...] and from two Keras twins."""
    act = get_activation(activation, 0.5)
    init = stacked_init(family, 1, same_init, lambda k, m: rng_for(4, Role.INIT, k, m))
    batches = PairedBatches(linear_model(4), 4, 1, 1, BATCH, STEPS * BATCH).take(STEPS)
    # 64 steps per call makes the last call a padded one (200 = 3 * 64 + 8).
    engine = StackedTrainer(family, act, init, make_optimizer(optimizer, lr), BATCH,
                            steps_per_call=64)
    engine.train(batches)
    twins = []
    for m in range(2):
        twin = family.keras_model(act)
        twin.set_weights([w[m] for w in init])
        twin.compile(optimizer=make_optimizer(optimizer, lr),
                     loss=keras.losses.BinaryCrossentropy(from_logits=True))
        for step in batches[m]:
            twin.train_on_batch(unpack_features(step).astype("float32"),
                                unpack_labels(step)[:, None].astype("float32"))
        twins.append(twin.get_weights())
    return engine.get_weights(), twins, init


FAMILIES = [("linear", "identity"), ("1", "identity"), ("2", "relu"), ("16-8-4-2", "relu"),
            ("8-4", "smelu"), ("8", "swish"), ("wide16", "relu")]


@pytest.mark.parametrize("optimizer, lr", [("adagrad", 0.1), ("sgd", 0.05)])
@pytest.mark.parametrize("spec, activation", FAMILIES)
def test_engine_matches_per_model_keras_training(spec, activation, optimizer, lr):
    family = Wide(units=16) if spec == "wide16" else parse_model(spec)
    engine, twins, init = train_both_ways(family, activation, optimizer, lr)
    for m, twin in enumerate(twins):
        for got, want, start in zip(engine, twin, init):
            assert got[m].shape == want.shape
            assert not np.allclose(want, start[m])  # training moved the weights
            np.testing.assert_allclose(got[m], want, rtol=2e-4, atol=2e-5)


def test_the_compiled_unpacking_gives_numpys_features_and_labels():
    rng = np.random.default_rng(0)
    packed = rng.integers(0, 1 << 33, size=(3, 500), dtype=np.int64)
    packed[0, :2] = [(1 << 33) - 1, 1 << 31]  # every bit set; the feature word's sign bit
    x, y = unpack_batch(packed)
    np.testing.assert_array_equal(x.numpy(), unpack_features(packed.ravel()).reshape(3, 500, 32))
    np.testing.assert_array_equal(y.numpy(), unpack_labels(packed))


@pytest.mark.parametrize("fan_in, fan_out", [(32, 2), (4, 2), (8, 4), (32, 1), (16, 8)])
def test_small_and_large_layers_compute_the_per_model_matrix_product(fan_in, fan_out):
    # both branches run
    assert is_small_layer(fan_in, fan_out) == ((fan_in, fan_out) in [(32, 2), (4, 2), (8, 4)])
    rng = np.random.default_rng(1)
    h, kernel = rng.normal(size=(3, 7, fan_in)), rng.normal(size=(3, fan_in, fan_out))
    bias = rng.normal(size=(3, fan_out))
    got = _dense_stack(*(a.astype(np.float32) for a in (h, kernel, bias))).numpy()
    np.testing.assert_allclose(got, h @ kernel + bias[:, None], rtol=1e-5, atol=1e-5)


def halves_sum(t):
    """NumPy reference of batch_sum's order: add the first and second halves of axis 1,
    carrying an odd last row, until one row is left."""
    while t.shape[1] > 1:
        half = t.shape[1] // 2
        total = t[:, :half] + t[:, half:2 * half]
        t = np.concatenate([total, t[:, 2 * half:]], axis=1) if t.shape[1] % 2 else total
    return t[:, 0]


@pytest.mark.parametrize("batch", [1, 2, 7, 32, 33])
def test_the_batch_sum_adds_halves_in_a_fixed_order_and_sums_the_batch(batch):
    t = np.random.default_rng(batch).normal(size=(3, batch, 5)).astype(np.float32)
    got = batch_sum(tf.constant(t)).numpy()
    np.testing.assert_array_equal(got, halves_sum(t))
    np.testing.assert_allclose(got, t.astype(np.float64).sum(axis=1), rtol=1e-5, atol=1e-5)


def test_a_dense_layers_bias_gradient_is_the_batch_sum_of_its_output_gradient():
    rng = np.random.default_rng(2)
    h, kernel = rng.normal(size=(2, 9, 4)), rng.normal(size=(2, 4, 3))
    bias = tf.Variable(rng.normal(size=(2, 3)).astype(np.float32))
    weights = rng.normal(size=(2, 9, 3)).astype(np.float32)
    with tf.GradientTape() as tape:
        out = _dense_stack(h.astype(np.float32), kernel.astype(np.float32), bias)
        loss = tf.reduce_sum(out * weights)
    np.testing.assert_array_equal(tape.gradient(loss, bias).numpy(), halves_sum(weights))


@tf.function(jit_compile=True)
def product_and_gradients(h, kernel, dz):
    """Both products (ours, TensorFlow's) and their gradients for output gradient dz."""
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([h, kernel])
        ours, theirs = product(h, kernel), tf.matmul(h, kernel)
    return (ours, theirs, tape.gradient(ours, [h, kernel], output_gradients=dz),
            tape.gradient(theirs, [h, kernel], output_gradients=dz))


def test_the_transposed_gradient_product_is_tensorflows_but_for_the_inputs_gradient():
    rng = np.random.default_rng(3)
    h, kernel, dz = (rng.normal(size=s).astype(np.float32)
                     for s in [(2, 5, 96), (2, 96, 64), (2, 5, 64)])
    ours, theirs, (dh, dk), (_, dk_tf) = product_and_gradients(h, kernel, dz)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(dk.numpy(), dk_tf.numpy())
    want = dz.astype(np.float64) @ kernel.astype(np.float64).transpose(0, 2, 1)
    np.testing.assert_allclose(dh.numpy(), want, rtol=1e-5, atol=1e-5)


def test_only_layers_of_two_to_the_19_weights_or_more_take_the_transposed_gradient(monkeypatch):
    assert has_transposed_gradient(1024, 512) and has_transposed_gradient(2048, 256)
    assert not has_transposed_gradient(512, 256) and not has_transposed_gradient(32, 1024)
    calls = []
    monkeypatch.setattr("simulator.models.product", lambda h, k: calls.append(k.shape) or h @ k)
    for fan_in, fan_out in [(1024, 512), (512, 256)]:
        _dense_stack(np.zeros((1, 2, fan_in), np.float32),
                     np.zeros((1, fan_in, fan_out), np.float32), np.zeros((1, fan_out), np.float32))
    assert calls == [(1, 1024, 512)]


@pytest.mark.parametrize("family", [MLP(()), MLP((16, 8, 4, 2)), MLP((1024, 512)), Wide()])
def test_stacked_weights_have_the_keras_twins_layout(family):
    init = family.init(np.random.default_rng(0))
    twin = family.keras_model(get_activation("relu"))
    assert [w.shape for w in twin.get_weights()] == [w.shape for w in init]


def test_identical_pairs_on_identical_batches_stay_bit_identical():
    family = MLP((4, 2))
    init = stacked_init(family, 1, True, lambda k, m: rng_for(0, Role.INIT, k, m))
    batches = PairedBatches(linear_model(0), 0, 1, 1, BATCH, 100 * BATCH).take(100)
    batches[1] = batches[0]  # both members see one order
    engine = StackedTrainer(family, get_activation("relu"), init, make_optimizer("adagrad", 0.1),
                            BATCH, steps_per_call=32)
    engine.train(batches)
    for w in engine.get_weights():
        np.testing.assert_array_equal(w[0], w[1])


@pytest.mark.parametrize("optimizer, lr", [("adagrad", 0.1), ("sgd", 0.05)])
@pytest.mark.parametrize("spec, activation",
                         FAMILIES + [("256-128", "relu"), ("1024-512", "relu")])
def test_models_split_into_stacks_on_threads_train_bit_identically_to_one_stack(
        spec, activation, optimizer, lr):
    family = Wide(units=16) if spec == "wide16" else parse_model(spec)
    act = get_activation(activation, 0.5)
    init = stacked_init(family, 3, False, lambda k, m: rng_for(7, Role.INIT, k, m))
    steps = 4 if spec == "1024-512" else 40
    batches = PairedBatches(linear_model(7), 7, 3, 2, BATCH, steps * BATCH).take(steps)
    features = unpack_features(np.arange(70, dtype=np.int64) * 977).astype(np.float32)
    results = []
    for shards in (1, 2, 3):  # 6 models: 6, 4 + 2 and 2 + 2 + 2 in a stack
        engine = StackedTrainer(family, act, init, make_optimizer(optimizer, lr), BATCH,
                                shards=shards, steps_per_call=16)
        engine.train(batches)
        results.append((engine.get_weights(), engine.logits(features)))
    (weights, logits), others = results[0], results[1:]
    assert not np.array_equal(weights[0], init[0])
    for other_weights, other_logits in others:
        for got, want in zip(other_weights, weights):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(other_logits, logits)


def test_a_coupling_loss_keeps_its_models_in_one_stack():
    family = MLP((2,))
    init = stacked_init(family, 1, False, lambda k, m: rng_for(0, Role.INIT, k, m))
    with pytest.raises(ValueError, match="one stack"):
        StackedTrainer(family, get_activation("relu"), init, make_optimizer("sgd", 0.1), BATCH,
                       steps_per_call=8, loss=lambda logits, labels: tf.reduce_sum(logits),
                       shards=2)


def test_small_models_are_split_into_one_stack_per_core_each_of_whole_pairs():
    cores, tower = len(os.sched_getaffinity(0)), parse_model("tower")
    assert train_shards(2, tower) == train_shards(3, tower) == train_shards(1001, tower) == 1
    assert train_shards(1000, tower) == cores
    init = stacked_init(MLP(()), 1, False, lambda k, m: rng_for(0, Role.INIT, k, m))
    with pytest.raises(ValueError, match="whole pairs"):
        StackedTrainer(MLP(()), get_activation("relu"), init, make_optimizer("sgd", 0.1), BATCH,
                       steps_per_call=8, shards=2)


def test_large_models_are_split_until_a_stacks_state_fits_half_a_cores_cache_share(
        monkeypatch):
    monkeypatch.setattr(engine_module, "usable_cores", lambda: 2)
    monkeypatch.setattr(engine_module, "last_level_cache_bytes", lambda: 32 * 2 ** 20)
    # 8 MiB a stack: 3 float32 arrays of 559,105 parameters are 6.7 MB a [1024, 512] model,
    # 1.8 MB a 512-256 model and 0.49 MB a 256-128 model.
    assert train_shards(32, parse_model("1024-512")) == 16  # a pair, the fewest, exceeds it
    assert train_shards(32, parse_model("512-256")) == 8
    assert train_shards(32, parse_model("256-128")) == 2
    assert train_shards(32, parse_model("tower")) == 2


def test_stacks_of_one_size_share_one_compiled_program():
    family = MLP((4, 2))
    init = stacked_init(family, 3, False, lambda k, m: rng_for(0, Role.INIT, k, m))
    engine = StackedTrainer(family, get_activation("relu"), init, make_optimizer("sgd", 0.1),
                            BATCH, shards=3, steps_per_call=4)  # 2 + 2 + 2 models
    engine.train(PairedBatches(linear_model(0), 0, 3, 1, BATCH, 8 * BATCH).take(8))
    assert engine._train_program.experimental_get_tracing_count() == 1


def test_a_compiled_call_runs_about_flops_per_call_of_its_largest_stacks_work():
    family = parse_model("1024-512")
    init = stacked_init(family, 3, False, lambda k, m: rng_for(0, Role.INIT, k, m))
    engine = StackedTrainer(family, get_activation("relu"), init, make_optimizer("sgd", 0.1),
                            BATCH, shards=2)  # 6 models: 4 + 2
    assert engine.steps_per_call == steps_per_call(family, 4, BATCH)
    assert steps_per_call(family, 4, BATCH) > steps_per_call(family, 6, BATCH)


def test_the_last_level_cache_is_the_largest_cache_sysfs_lists(tmp_path):
    for index, size in enumerate(["48K", "2048K", "32768K"]):
        (tmp_path / f"index{index}").mkdir()
        (tmp_path / f"index{index}" / "size").write_text(size + "\n")
    assert last_level_cache_bytes(str(tmp_path)) == 32 * 2 ** 20
    assert last_level_cache_bytes(str(tmp_path / "absent")) == DEFAULT_CACHE_BYTES


def test_in_batch_order_alone_gives_a_tiny_but_nonzero_pd_and_distinct_init_a_larger_one(tiny):
    def final_pd(init):
        setting = tiny(model="2", activation="identity", init=init, window=1, pairs=4,
                       examples=2 ** 14)
        rows = run_setting(setting).metrics
        last = max(r["examples_seen"] for r in rows)
        return np.mean([r["value"] for r in rows
                        if r["metric"] == "relative_pd" and r["examples_seen"] == last])

    same, diff = final_pd("same"), final_pd("diff")
    assert 0 < same < 1e-4          # rounding from the in-batch order reaches the models
    assert diff > 100 * same


def test_run_setting_reports_each_metric_per_pair_and_checkpoint(tiny):
    setting = tiny(model="linear", checkpoints=3)
    rows = run_setting(setting).metrics
    seen = sorted({r["examples_seen"] for r in rows})
    assert seen == [2 ** 9, 2 ** 10, 2 ** 11]
    names = {r["metric"] for r in rows}
    assert names == {"relative_pd", "absolute_pd", "excess_loss", "deviation_cosine"}
    assert len(rows) == 3 * 4 * setting.pairs


def test_metrics_of_the_run_match_a_per_model_prediction(tiny):
    """The reported PD equals one recomputed from the returned weights by Keras twins."""
    setting = tiny(model="2", activation="relu", init="diff", checkpoints=1)
    out = run_setting(setting)
    from simulator.data import DATA_MODELS, evaluation_set
    data = DATA_MODELS[setting.data](setting.seed)
    packed = evaluation_set(data, setting.seed, setting.eval_examples)
    family = parse_model(setting.model)
    logits = []
    for m in range(2 * setting.pairs):
        twin = family.keras_model(get_activation("relu"))
        twin.set_weights([w[m] for w in out.weights])
        logits.append(twin.predict(unpack_features(packed), verbose=0)[:, 0])
    expected = relative_pd(np.array(logits), data.logodds(packed))
    got = [r["value"] for r in out.metrics if r["metric"] == "relative_pd"]
    np.testing.assert_allclose(got, expected, rtol=1e-4)

