"""Which network a sweep trains: the appendix-B CNN by default, or a user's own Keras model
named package.module:function, with the layers RM compares named by the user; every bad
choice is one line."""
import dataclasses
import itertools
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from image_experiments.architecture import (
    Architecture,
    check_model,
    model_source_hash,
    parse_layers,
    rm_layers_of,
)
from image_experiments.cli import main
from image_experiments.sweep_config import ImageSweep
from irrepro.errors import UserError

BUILDER = '''
import keras


def build(input_shape, classes):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu", name="penultimate")(x)
    return keras.Model(inputs, keras.layers.Dense(classes, name="logits")(x))


def probabilities(input_shape, classes):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))


def not_a_model(input_shape, classes):
    return "a model"
'''
_names = itertools.count()


@pytest.fixture
def module(tmp_path, monkeypatch):
    """A fresh importable module holding BUILDER's functions; its name."""
    name = f"user_models_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(BUILDER))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_a_model_is_cnn_or_module_colon_function():
    check_model("cnn")
    check_model("my.models:build_v2")
    for bad in ("mymodels", "mymodels:", "my models:build", "mymodels:build:x"):
        with pytest.raises(UserError, match="package.module:function"):
            check_model(bad)
    assert parse_layers(" conv, penultimate ,") == ("conv", "penultimate")
    assert parse_layers(None) == ()


def test_the_cnn_compares_its_two_layers_unless_told_otherwise():
    assert Architecture().rm_layers == ("cnn", "fc1")
    assert Architecture(layers=("fc1",)).rm_layers == ("fc1",)


def test_a_units_layers_are_read_without_its_models_module():
    assert rm_layers_of({"activation": "relu"}) == ("cnn", "fc1")  # stored before --model
    assert rm_layers_of({"model": "gone_models:build", "layers": ["penultimate"]}) == (
        "penultimate",)
    with pytest.raises(UserError, match="cannot find the module 'gone_models'"):
        Architecture.from_meta({"model": "gone_models:build", "layers": ["penultimate"]})


def test_the_same_seed_gives_the_same_user_weights_and_another_seed_others(module):
    architecture = Architecture(f"{module}:build", ("penultimate",))

    def weights(seed):
        model = architecture.build((8, 8, 1), 10, np.random.default_rng(seed))
        return model.get_weights()

    first, again, other = weights(1), weights(1), weights(2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("function, message", [
    ("probabilities", "ends in a softmax; return logits"),
    ("not_a_model", "returned str, not a Keras model"),
    ("missing", "has no function 'missing'"),
])
def test_a_builder_must_return_a_keras_model_of_logits(module, function, message):
    with pytest.raises(UserError, match=message):
        Architecture(f"{module}:{function}", ("logits",)).build((8, 8, 1), 10)


def test_a_missing_layer_is_named_beside_the_models_layers(module):
    with pytest.raises(UserError, match="has no layer fc7; its layers are .*penultimate"):
        Architecture(f"{module}:build", ("fc7",)).build((8, 8, 1), 10)
    with pytest.raises(UserError, match="needs --layers"):  # the CNN's are not the user's
        Architecture(f"{module}:build")


def test_an_unknown_module_is_named():
    with pytest.raises(UserError, match="cannot find the module 'no_such_models'"):
        Architecture("no_such_models:build", ("x",)).build((8, 8, 1), 10)


def test_the_cnns_options_do_not_go_with_a_user_model(module):
    with pytest.raises(UserError, match="decides its own activations"):
        Architecture(f"{module}:build", ("conv",), activation="swish")


def test_a_conv_layer_is_flattened_for_rm(module):
    from image_experiments.group import VariantGroup

    architecture = Architecture(f"{module}:build", ("conv", "penultimate"))
    rngs = [np.random.default_rng(k) for k in range(2)]
    x = np.random.default_rng(0).random((5, 8, 8, 1), np.float32)
    group = VariantGroup.build(architecture, (8, 8, 1), 10, rngs, 1e-3, x, np.arange(5))
    acts = group.activations(x)
    assert acts["conv"].shape == (2, 5, 8 * 8 * 8) and acts["penultimate"].shape == (2, 5, 32)


def test_the_default_model_leaves_older_unit_hashes_unchanged(module, tmp_path):
    sweep = ImageSweep(name="t", dataset="digits")
    assert not {"model", "layers", "model_source"} & set(sweep.as_dict())
    mine = dataclasses.replace(sweep, model=f"{module}:build", layers=("penultimate",))
    assert mine.config_hash() != sweep.config_hash()
    # An edited builder is another model: its units are not reused.
    before = model_source_hash(mine.model)
    path = tmp_path / f"{module}.py"
    path.write_text(path.read_text() + "\n# edited\n")
    assert model_source_hash(mine.model) != before


def digits_npz(path):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255 / 16)).astype(np.uint8)
    np.savez(path, x_train=images[:400], y_train=bunch.target[:400],
             x_test=images[400:520], y_test=bunch.target[400:520])


def test_a_user_model_sweeps_and_reports_on_its_own_layers(module, tmp_path):
    import pandas as pd

    digits_npz(tmp_path / "mine.npz")
    out = tmp_path / "r"
    result = CliRunner().invoke(main, [
        "sweep", str(tmp_path / "mine.npz"), "--smoke", "--regime", "lr", "--no-pseudo-max",
        "--target-accuracy", "0.5", "--model", f"{module}:build", "--layers",
        "conv,penultimate", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    strategies = pd.read_csv(out / "strategies.csv")
    rm = strategies[strategies.metric.str.startswith("rm_")].set_index("metric")["value"]
    assert set(rm.index) == {"rm_conv", "rm_penultimate"} and rm.notna().all()
    pairs = pd.read_csv(out / "pairs.csv")
    assert {"svcca_conv", "svcca_penultimate"} <= set(pairs.metric)
    result = CliRunner().invoke(main, ["report", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    hypothesis = pd.read_csv(out / "report" / "hypothesis1.csv")
    assert set(hypothesis.layer) == {"conv", "penultimate"}
    interventions = pd.read_csv(out / "report" / "interventions.csv")
    pgd = interventions[interventions.intervention == "pgd_0.005"]  # rebuilt and attacked
    assert len(pgd) == 3 and pgd.value.between(0, 1).all()
    assert (out / "report" / "fig2-mine.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--model", "mymodels"], "neither 'cnn' nor package.module:function"),
    (["--model", "absent_models:build", "--layers", "x"],
     "cannot find the module 'absent_models'"),
    (["--model", "absent_models:build"], "needs --layers"),
])
def test_a_bad_model_is_one_line_and_exit_2(tmp_path, args, message):
    result = CliRunner().invoke(main, ["sweep", "digits", "--smoke", "--out",
                                       str(tmp_path / "r"), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()
