"""The appendix-B CNN: layer names and shapes per input size, activations, seeded weights."""
import numpy as np
import pytest

from image_experiments.cnn import activation_model, build_cnn, initial_weights, padding_for
from irrepro.errors import UserError
from irrepro.keras_activations import SmeLU, Swish


def shapes(model):
    return {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}


def test_mnist_like_input_gives_the_papers_valid_padding_stack():
    model = build_cnn((28, 28, 1), 10)
    assert shapes(model) == {
        "image": (28, 28, 1), "conv1": (26, 26, 48), "pool1": (13, 13, 48),
        "conv2": (11, 11, 96), "pool2": (5, 5, 96), "conv3": (3, 3, 80),
        "conv4": (1, 1, 96), "cnn": (96,), "fc1": (512,), "logits": (10,)}
    # conv 1*48*9+48, 48*96*9+96, 96*80*9+80, 80*96*9+96; FC(96, 512); FC(512, 10)
    expected = (480 + 41568 + 69200 + 69216) + (96 * 512 + 512) + (512 * 10 + 10)
    assert model.count_params() == expected


def test_cifar_like_input_gives_a_384_neuron_cnn_layer():
    model = build_cnn((32, 32, 3), 9)
    assert shapes(model)["conv4"] == (2, 2, 96)
    assert shapes(model)["cnn"] == (384,) and shapes(model)["logits"] == (9,)
    assert model.get_layer("fc1").kernel.shape == (384, 512)  # the paper's FC(384, 512)


def test_inputs_too_small_for_valid_padding_use_same_padding():
    assert padding_for((28, 28, 1)) == "valid" and padding_for((26, 26, 1)) == "valid"
    assert padding_for((8, 8, 1)) == padding_for((25, 25, 3)) == "same"
    model = build_cnn((8, 8, 1), 10)
    assert shapes(model)["conv1"] == (8, 8, 48) and shapes(model)["conv4"] == (2, 2, 96)
    assert shapes(model)["cnn"] == (384,) and shapes(model)["fc1"] == (512,)


@pytest.mark.parametrize("name, kind", [("smelu", SmeLU), ("swish", Swish)])
def test_the_activation_follows_every_convolution_and_no_dense_layer(name, kind):
    model = build_cnn((8, 8, 1), 10, activation=name, beta=0.5)
    hidden = [model.get_layer(n) for n in ("conv1", "conv2", "conv3", "conv4")]
    assert all(isinstance(layer.activation, kind) and layer.activation.beta == 0.5
               for layer in hidden)
    # appendix B: "ReLU - FC(96, 512) - FC(512, 10)", no activation after either FC layer
    assert model.get_layer("fc1").activation.__name__ == "linear"
    assert model.get_layer("logits").activation.__name__ == "linear"


def test_an_unknown_activation_is_a_user_error():
    with pytest.raises(UserError, match="unknown activation 'gelu'"):
        build_cnn((8, 8, 1), 10, activation="gelu")


def test_initial_weights_come_from_the_generator_alone():
    first = build_cnn((8, 8, 1), 10, rng=np.random.default_rng(3)).get_weights()
    again = build_cnn((8, 8, 1), 10, rng=np.random.default_rng(3)).get_weights()
    other = build_cnn((8, 8, 1), 10, rng=np.random.default_rng(4)).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    kernel, bias = first[0], first[1]  # conv1: Glorot-uniform limit sqrt(6 / (9 + 9*48))
    assert np.abs(kernel).max() <= np.sqrt(6 / (9 + 9 * 48)) and not bias.any()


def test_initial_weights_follow_glorot_uniform():
    model = build_cnn((28, 28, 1), 10)
    weights = initial_weights(model, np.random.default_rng(0))
    fc1 = weights[[w.path for w in model.weights].index("fc1/kernel")]
    limit = np.sqrt(6 / (96 + 512))
    assert np.abs(fc1).max() <= limit and np.abs(fc1).max() > 0.99 * limit
    assert abs(fc1.std() - limit / np.sqrt(3)) < 0.02 * limit  # uniform(-l, l): std l/sqrt(3)


def test_the_activation_model_outputs_cnn_and_fc1_of_the_same_weights():
    model = build_cnn((8, 8, 1), 10, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).random((5, 8, 8, 1)).astype(np.float32)
    cnn, fc1 = (np.asarray(a) for a in activation_model(model)(x))
    assert cnn.shape == (5, 384) and fc1.shape == (5, 512)
    dense = model.get_layer("fc1")
    np.testing.assert_allclose(fc1, cnn @ np.asarray(dense.kernel) + np.asarray(dense.bias),
                               atol=1e-5)
    logits = model.get_layer("logits")
    np.testing.assert_allclose(np.asarray(model(x)), fc1 @ np.asarray(logits.kernel)
                               + np.asarray(logits.bias), atol=1e-5)


@pytest.mark.parametrize("dataset, writer, shape, width", [
    ("svhn", "write_svhn", (28, 28, 1), 96), ("cifar9", "write_cifar", (32, 32, 3), 384)])
def test_svhn_trains_grey_28x28_with_96_cnn_neurons_and_cifar9_32x32x3_with_384(
        tmp_path, dataset, writer, shape, width):
    """Appendix B: SVHN on the 1-channel stack ending in FC(96, 512) (grey 28x28, converted
    as the SVHN OOD set of MNIST is), CIFAR-9 at 32x32x3 with FC(384, 512)."""
    from image_experiments.prepare import prepare

    import datafiles as files

    getattr(files, writer)(tmp_path)
    prepared = prepare(dataset, str(tmp_path), None, None, 0)
    train = prepared.train
    assert train.x_train.shape[1:] == train.x_test.shape[1:] == shape
    assert all(s.x.shape[1:] == shape for s in prepared.sets)  # OOD sets of that test set
    model = build_cnn(train.x_train.shape[1:], train.classes)
    assert shapes(model)["cnn"] == (width,)
    assert model.get_layer("fc1").kernel.shape == (width, 512)


def test_fc1_takes_a_relu_when_asked_and_nothing_by_default():
    x = np.random.default_rng(0).normal(size=(64, 28, 28, 1)).astype(np.float32)
    rng = np.random.default_rng(1)
    plain = build_cnn((28, 28, 1), 10, rng=rng)
    rectified = build_cnn((28, 28, 1), 10, fc1_activation="relu")
    rectified.set_weights(plain.get_weights())
    cnn, fc1 = activation_model(plain)(x)
    _, fc1_relu = activation_model(rectified)(x)
    kernel, bias = plain.get_layer("fc1").get_weights()
    np.testing.assert_allclose(fc1, np.asarray(cnn) @ kernel + bias, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fc1_relu, np.maximum(fc1, 0), rtol=1e-5, atol=1e-5)
    assert (np.asarray(fc1) < 0).any()  # the affine layer is not rectified by default
    logits = rectified.get_layer("logits").get_weights()
    np.testing.assert_allclose(rectified(x), np.maximum(fc1, 0) @ logits[0] + logits[1],
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(UserError, match="unknown fc1 activation"):
        build_cnn((28, 28, 1), 10, fc1_activation="tanh")
