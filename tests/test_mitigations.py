"""Mitigations: each loss against a direct NumPy computation and a per-model Keras training,
the stacked layout and deployment, ensemble of one = the plain setting, and bad input."""
import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from click.testing import CliRunner
from scipy.special import expit, log_expit

from irrepro.keras_activations import get_activation
from irrepro.streams import Role, rng_for
from simulator import mitigations
from simulator.cli import main
from simulator.data import PairedBatches, linear_model, unpack_features, unpack_labels
from simulator.engine import StackedTrainer, make_optimizer, run_setting
from simulator.mitigation_losses import (
    CORRELATION_EPS,
    antidistill_loss,
    codistill_loss,
    distill_loss,
    task_loss,
)
from simulator.models import MLP, Wide, parse_model, stacked_init

STEPS, BATCH = 200, 32


def np_bce(target, z):
    """Cross-entropy of soft targets in [0, 1] against logits, float64."""
    return -(target * log_expit(z) + (1 - target) * log_expit(-z))


def fixed_inputs(n=6, b=16, seed=3):
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 2, size=(n, b)).astype(np.float32),
            rng.integers(0, 2, size=(n, b)).astype(np.float32))


def test_each_loss_equals_a_direct_computation_on_fixed_inputs():
    z, y = fixed_inputs()
    zd, yd = z.astype(np.float64), y.astype(np.float64)
    task = np_bce(yd, zd).mean(1)
    # codistill, groups of 3, w 0.7, T 2
    g, w, t = 3, 0.7, 2.0
    p = expit(zd / t).reshape(-1, g, z.shape[1])
    others = ((p.sum(1, keepdims=True) - p) / (g - 1)).reshape(z.shape)
    want = task.sum() + w * t ** 2 * np_bce(others, zd / t).mean(1).sum()
    got = codistill_loss(g, w, t)(tf.constant(z), tf.constant(y)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)
    # antidistill, groups of 3, w 0.4: mean over component pairs of squared correlation
    p = expit(zd).reshape(-1, g, z.shape[1])
    penalty = 0.0
    for group in p:
        rho2 = [np.cov(group[i], group[j], bias=True)[0, 1] ** 2
                / (group[i].var() * group[j].var() + CORRELATION_EPS)
                for i in range(g) for j in range(i + 1, g)]
        penalty += np.mean(rho2)
    got = antidistill_loss(g, 0.4)(tf.constant(z), tf.constant(y)).numpy()
    np.testing.assert_allclose(got, task.sum() + 0.4 * penalty, rtol=1e-5)
    # distill: groups of 2 teachers and a student, w 0.3, T 1.5
    teachers, w, t = 2, 0.3, 1.5
    zg, yg = zd.reshape(-1, 3, z.shape[1]), yd.reshape(-1, 3, z.shape[1])
    q = expit(zg[:, :2] / t).mean(1)
    want = ((1 - w) * np_bce(yg[:, 2], zg[:, 2]).mean(1)
            + w * t ** 2 * np_bce(q, zg[:, 2] / t).mean(1)).sum()
    got = distill_loss(teachers, w, t)(tf.constant(z), tf.constant(y)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(task_loss(tf.constant(z), tf.constant(y)).numpy(), task.sum(),
                               rtol=1e-6)


def keras_twins(family, act, init, optimizer, lr):
    twins = []
    for i in range(init[0].shape[0]):
        twin = family.keras_model(act)
        twin.set_weights([w[i] for w in init])
        twins.append((twin, make_optimizer(optimizer, lr)))
    return twins


def correlation2(a, b):
    """rho^2 over the batch of two probability vectors (Keras ops)."""
    da, db = a - keras.ops.mean(a), b - keras.ops.mean(b)
    cov = keras.ops.mean(da * db)
    return cov ** 2 / (keras.ops.mean(da * da) * keras.ops.mean(db * db) + CORRELATION_EPS)


def member_loss(name, i, z_i, others, y, g, w, t):
    """Model i's own loss, written per model with Keras ops; ``others`` are the other
    models' logits [g, B] before the step (constants), ``z_i`` model i's live logits [B]."""
    bce = keras.ops.mean(keras.losses.binary_crossentropy(y[:, None], z_i[:, None],
                                                          from_logits=True))
    if name == "codistill":
        q = np.mean([expit(others[j] / t) for j in range(g) if j != i], axis=0)
        soft = keras.losses.binary_crossentropy(q[:, None].astype("float32"),
                                                (z_i / t)[:, None], from_logits=True)
        return bce + w * t ** 2 * keras.ops.mean(soft)
    p_i = keras.ops.sigmoid(z_i)
    pairs = g * (g - 1) / 2
    return bce + w / pairs * sum(correlation2(p_i, expit(others[j]).astype("float32"))
                                 for j in range(g) if j != i)


@pytest.mark.parametrize("name, optimizer, lr", [("codistill", "adagrad", 0.1),
                                                 ("antidistill", "adagrad", 0.1),
                                                 ("antidistill", "sgd", 0.05)])
def test_coupled_losses_train_as_per_model_keras_twins(name, optimizer, lr):
    """Three components of one group, STEPS steps: stacked with the group loss, and each as
    its own Keras model with its own optimizer and its own loss written per model."""
    g, w, t = 3, 0.5, 2.0
    family, act = MLP((8, 4)), get_activation("relu")
    init = [np.stack(ws) for ws in zip(*[family.init(rng_for(5, Role.INIT, 0, e))
                                         for e in range(g)])]
    batches = PairedBatches(linear_model(5), 5, 1, 1, BATCH, STEPS * BATCH).take(STEPS)[:1]
    loss = codistill_loss(g, w, t) if name == "codistill" else antidistill_loss(g, w * 4)
    engine = StackedTrainer(family, act, init, make_optimizer(optimizer, lr), BATCH,
                            steps_per_call=64, loss=loss)
    engine.train(np.repeat(batches, g, axis=0))
    twins = keras_twins(family, act, init, optimizer, lr)
    for step in batches[0]:
        x = unpack_features(step).astype("float32")
        y = unpack_labels(step).astype("float32")
        before = np.stack([twin(x)[:, 0].numpy() for twin, _ in twins])
        for i, (twin, opt) in enumerate(twins):
            with tf.GradientTape() as tape:
                z_i = twin(x)[:, 0]
                value = member_loss(name, i, z_i, before, y, g, w if name == "codistill"
                                    else w * 4, t)
            opt.apply(tape.gradient(value, twin.trainable_variables), twin.trainable_variables)
    for i, (twin, _) in enumerate(twins):
        for got, want, start in zip(engine.get_weights(), twin.get_weights(), init):
            assert not np.allclose(want, start[i])
            np.testing.assert_allclose(got[i], want, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("optimizer, lr", [("adagrad", 0.1), ("sgd", 0.05)])
def test_distillation_trains_the_student_as_a_keras_twin_and_leaves_the_teacher(optimizer, lr):
    w, t = 0.6, 2.0
    family, act = MLP((8,)), get_activation("swish", 0.5)
    teacher = family.init(rng_for(6, Role.INIT, 0, 0))
    teacher = [a + 0.3 * rng_for(6, 99).normal(size=a.shape).astype("float32")
               for a in teacher]  # a teacher that is not a fresh initialisation
    student = family.init(rng_for(6, Role.INIT, 0, 0, 1))
    init = [np.stack(pair) for pair in zip(teacher, student)]
    batches = PairedBatches(linear_model(6), 6, 1, 1, BATCH, STEPS * BATCH).take(STEPS)[:1]
    engine = StackedTrainer(family, act, init, make_optimizer(optimizer, lr), BATCH,
                            steps_per_call=64, loss=distill_loss(1, w, t))
    engine.train(np.repeat(batches, 2, axis=0))
    teacher_twin = family.keras_model(act)
    teacher_twin.set_weights(teacher)
    twin = family.keras_model(act)
    twin.set_weights(student)
    twin.compile(optimizer=make_optimizer(optimizer, lr), loss=lambda target, z: (
        (1 - w) * keras.losses.binary_crossentropy(target[:, :1], z, from_logits=True)
        + w * t ** 2 * keras.losses.binary_crossentropy(target[:, 1:], z / t,
                                                        from_logits=True)))
    for step in batches[0]:
        x = unpack_features(step).astype("float32")
        q = expit(teacher_twin(x).numpy() / t)
        twin.train_on_batch(x, np.concatenate([unpack_labels(step)[:, None], q], 1)
                            .astype("float32"))
    got = engine.get_weights()
    for g_w, want, start, t_w in zip(got, twin.get_weights(), student, teacher):
        np.testing.assert_array_equal(g_w[0], t_w)  # the frozen teacher did not move
        assert not np.allclose(want, start)
        np.testing.assert_allclose(g_w[1], want, rtol=2e-4, atol=2e-5)


def test_an_ensemble_of_one_is_the_plain_setting_bit_for_bit(tiny):
    plain = run_setting(tiny(model="2", init="diff", window=4))
    one = run_setting(tiny(model="2", init="diff", window=4, mitigation="ensemble", members=1))
    assert [r["value"] for r in plain.metrics] == [r["value"] for r in one.metrics]
    for a, b in zip(plain.weights, one.weights):
        np.testing.assert_array_equal(a, b)
    linear = [run_setting(tiny(model="linear", **extra)).metrics
              for extra in ({}, {"mitigation": "ensemble"})]
    assert linear[0] == linear[1]  # deviation_cosine included


def test_components_differ_within_a_member_and_are_shared_by_a_pair_with_init_same(tiny):
    family = parse_model("2")
    same = mitigations.initial_weights(tiny(model="2", mitigation="ensemble", members=3),
                                       family)
    diff = mitigations.initial_weights(tiny(model="2", init="diff", mitigation="ensemble",
                                            members=3), family)
    kernel = same[0].reshape(2, 2, 3, *same[0].shape[1:])  # pair, member, component
    np.testing.assert_array_equal(kernel[:, 0], kernel[:, 1])
    assert all(not np.allclose(kernel[0, 0, a], kernel[0, 0, b]) for a, b in ((0, 1), (1, 2)))
    kernel = diff[0].reshape(kernel.shape)
    assert not np.allclose(kernel[:, 0], kernel[:, 1])
    # component 0 of each member starts as the plain setting's model
    start = stacked_init(family, 2, False, lambda k, m: rng_for(0, Role.INIT, k, m))
    np.testing.assert_array_equal(kernel[:, :, 0].reshape(4, *kernel.shape[3:]), start[0])


def test_deployment_averages_probabilities_or_selects_a_component(tiny):
    z = np.random.default_rng(1).normal(0, 3, size=(2 * 2 * 3, 5))
    avg = mitigations.deploy(z, tiny(mitigation="ensemble", members=3))
    np.testing.assert_allclose(expit(avg), expit(z).reshape(4, 3, 5).mean(1), rtol=1e-12)
    chosen = mitigations.deploy(z, tiny(mitigation="codistill", members=3))
    np.testing.assert_array_equal(chosen, z[0::3])
    student = mitigations.deploy(z[:8], tiny(mitigation="distill", members=1))
    np.testing.assert_array_equal(student, z[1:8:2])


@pytest.mark.parametrize("family", [parse_model("tower"), parse_model("mlp"), Wide()])
def test_equal_flops_components_together_have_about_one_models_parameters(tiny, family):
    narrow = mitigations.narrower(family, 4)
    ratio = mitigations.n_parameters(narrow) * 4 / mitigations.n_parameters(family)
    assert 0.8 < ratio < 1.25, ratio
    setting = tiny(model=family.name, mitigation="ensemble", members=4, equal_flops=True)
    assert mitigations.component_family(setting).shapes == narrow.shapes
    assert mitigations.model_examples(setting, 1024) == pytest.approx(1024 * ratio)


def test_model_examples_counts_every_component_and_the_teacher(tiny):
    assert mitigations.model_examples(tiny(), 512) == 512
    assert mitigations.model_examples(tiny(mitigation="codistill", members=3), 512) == 1536
    setting = tiny(mitigation="distill", members=2)
    assert mitigations.model_examples(setting, 512) == 2 * setting.examples + 512


def test_plain_hashes_and_csvs_have_no_mitigation_parameters(tiny):
    plain = tiny()
    assert "mitigation" not in plain.as_dict() and "members" not in plain.as_dict()
    ens = tiny(mitigation="ensemble", members=2)
    assert ens.as_dict()["members"] == 2 and "temperature" not in ens.as_dict()
    assert tiny(mitigation="codistill", members=2, temperature=2).config_hash() != \
        tiny(mitigation="codistill", members=2).config_hash()


TINY = ["--pairs", "2", "--examples", "2^11", "--eval-examples", "2^10", "--checkpoints", "2"]


@pytest.mark.parametrize("args, message", [
    (["--mitigation", "bagging"], "'bagging' is not one of"),
    (["--mitigation", "codistill", "--members", "1"], "needs --members >= 2"),
    (["--mitigation", "antidistill"], "needs --members >= 2"),
    (["--members", "3"], "--members 3 needs a --mitigation"),
    (["--mitigation", "distill", "--temperature", "0"], "--temperature must be > 0"),
    (["--mitigation", "codistill", "--members", "2", "--temperature", "-1"],
     "--temperature must be > 0"),
    (["--mitigation", "distill", "--mitigation-weight", "1.5"], "in [0, 1]"),
    (["--mitigation", "ensemble", "--members", "2", "--init", "warm"], "not supported"),
    (["--mitigation", "codistill", "--members", "2", "--equal-flops"], "--equal-flops applies"),
])
def test_bad_mitigation_input_is_one_line_exit_2_and_no_file(tmp_path, args, message):
    out = tmp_path / "r.csv"
    result = CliRunner().invoke(main, ["run", *TINY, *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simctl: error:") and message in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_a_mitigation_run_writes_its_parameters_and_is_deterministic(tmp_path):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in paths:
        result = CliRunner().invoke(main, ["run", *TINY, "--init", "diff", "--mitigation",
                                           "antidistill", "--members", "2", "--out", str(path)])
        assert result.exit_code == 0, result.output
    assert paths[0].read_bytes() == paths[1].read_bytes()
    frame = pd.read_csv(paths[0])
    assert set(frame["mitigation"]) == {"antidistill"} and set(frame["members"]) == {2}
    assert frame["temperature"].isna().all()  # not a parameter of antidistill


def test_saved_weights_of_a_mitigation_name_pair_member_and_component(tmp_path):
    from simulator.results import load_weights_frame

    out = tmp_path / "c.csv"
    result = CliRunner().invoke(main, ["run", *TINY, "--model", "2", "--mitigation",
                                       "codistill", "--members", "3", "--save-weights",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = load_weights_frame(tmp_path / "c.weights.npz")
    counts = frame.groupby(["pair", "member", "component"]).size()
    assert len(counts) == 2 * 2 * 3 and set(counts) == {69}


def test_equal_flops_spelt_as_text_is_read_as_a_flag(tiny):
    assert tiny(equal_flops="false").equal_flops is False
    assert tiny(mitigation="ensemble", members=2, equal_flops="True").equal_flops is True
